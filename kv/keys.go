package kv

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/marsevilspirit/deimos-client/internal/text"
)

// MaxKeyLength is the longest key, in bytes, the client accepts. The server
// refuses request lines above about 1 MiB, and escaping can triple a key's size.
const MaxKeyLength = 256 << 10

// reservedPrefix holds the server's member registry. Writing there can crash
// the cluster (docs/protocol.md §8.3), so the client refuses every write under it.
const reservedPrefix = "/_deimos"

// CleanKey validates key and returns its normal form: rooted at "/", with
// duplicate and trailing slashes removed. A key made only of slashes becomes
// "/", the root directory (reads may name it; writes refuse it); the empty
// string is an error.
//
// A key is rejected with an error matching ErrInvalidKey when it is empty, has
// a "." or ".." segment (the server would resolve them and address another
// key), contains control characters or invalid UTF-8, or is longer than
// MaxKeyLength.
func CleanKey(key string) (string, error) {
	if key == "" {
		return "", keyError(key, "empty key")
	}
	if len(key) > MaxKeyLength {
		return "", keyError(key, fmt.Sprintf("longer than %d bytes", MaxKeyLength))
	}
	if isCleanSimple(key) {
		return key, nil
	}
	if !utf8.ValidString(key) {
		return "", keyError(key, "not valid UTF-8")
	}
	var b strings.Builder
	b.Grow(len(key) + 1)
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			continue
		case ".", "..":
			return "", keyError(key, fmt.Sprintf("%q segment", seg))
		}
		for _, r := range seg {
			if unicode.IsControl(r) {
				return "", keyError(key, fmt.Sprintf("control character %U", r))
			}
		}
		b.WriteByte('/')
		b.WriteString(seg)
	}
	if b.Len() == 0 {
		return "/", nil
	}
	return b.String(), nil
}

// isCleanSimple reports whether key is already in normal form and made only of
// characters that need neither validation nor escaping, so the common case
// costs no allocation.
func isCleanSimple(key string) bool {
	if len(key) < 2 || key[0] != '/' || key[len(key)-1] == '/' {
		return false
	}
	segStart := 1
	for i := 1; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			if !unreservedByte(key[i]) {
				return false
			}
			continue
		}
		seg := key[segStart:i]
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		segStart = i + 1
	}
	return true
}

// unreservedByte reports whether c is an RFC 3986 unreserved character, which
// url.PathEscape leaves alone.
func unreservedByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// KeyPath returns the escaped URL path of a key returned by CleanKey, e.g.
// "/keys/a%20b/c". Each segment is escaped on its own, so no character of a
// key ('%', '?', '#', ';', ...) can add a separator, a query or a fragment.
func KeyPath(clean string) string {
	if clean == "/" || clean == "" {
		return "/keys"
	}
	if isCleanSimple(clean) {
		return "/keys" + clean
	}
	var b strings.Builder
	b.Grow(len("/keys") + len(clean) + 16)
	b.WriteString("/keys")
	for seg := range strings.SplitSeq(clean[1:], "/") {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}

// IsReserved reports whether the clean key lies in the server's own key space
// (/_deimos and below), which the client never writes.
func IsReserved(clean string) bool {
	return clean == reservedPrefix || strings.HasPrefix(clean, reservedPrefix+"/")
}

// cleanWriteKey cleans a key that is about to be written and refuses the
// server's reserved key space.
func cleanWriteKey(key string) (string, error) {
	clean, err := CleanKey(key)
	if err != nil {
		return "", err
	}
	if IsReserved(clean) {
		return "", fmt.Errorf("kv: %w: %w: %q", ErrInvalidKey, ErrReservedKey, clean)
	}
	return clean, nil
}

func keyError(key, reason string) error {
	return fmt.Errorf("kv: %w %q: %s", ErrInvalidKey, clipKey(key), reason)
}

// keyQuoteMax bounds how much of a rejected key an error message quotes:
// keys may be up to MaxKeyLength long, messages and logs should not be.
const keyQuoteMax = 128

func clipKey(key string) string { return text.ClipTo(key, keyQuoteMax) }
