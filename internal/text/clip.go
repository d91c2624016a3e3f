// Package text bounds the text from servers and users that errors and logs
// quote, so a megabyte key or body never becomes a megabyte message.
package text

import (
	"strings"
	"unicode/utf8"
)

// Max is how many bytes of a quoted string are kept.
const Max = 200

// Clip returns s cut to at most Max bytes on a rune boundary, with "…" when
// something was cut.
func Clip(s string) string { return ClipTo(s, Max) }

// ClipTo returns s cut to at most n bytes on a rune boundary, with "…" when
// something was cut.
func ClipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// WriteContext writes "op key on endpoint: " with the parts that are set: how
// every error of the SDK names what was asked, after "deimos: ".
func WriteContext(b *strings.Builder, op, key, endpoint string) {
	if op == "" && key == "" && endpoint == "" {
		return
	}
	n := b.Len()
	if op != "" {
		b.WriteString(op)
	}
	if key != "" {
		if b.Len() > n {
			b.WriteString(" ")
		}
		b.WriteString(Clip(key))
	}
	if endpoint != "" {
		if b.Len() > n {
			b.WriteString(" ")
		}
		b.WriteString("on ")
		b.WriteString(endpoint)
	}
	b.WriteString(": ")
}

// Describe is the message of err inside a list of errors: its Detail when it
// has one (the message without the request and endpoint the enclosing error
// already names), else its message, clipped.
func Describe(err error) string {
	switch e := err.(type) {
	case nil:
		return "<nil>"
	case interface{ Detail() string }:
		return e.Detail()
	}
	return Clip(err.Error())
}
