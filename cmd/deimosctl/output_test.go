package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour:                  "1h",
		time.Hour + 5*time.Second:  "1h0m5s",
		90 * time.Minute:           "1h30m",
		5 * time.Minute:            "5m",
		59 * time.Second:           "59s",
		0:                          "0s",
		26*time.Hour + time.Minute: "26h1m",
	} {
		assert.Equal(t, want, shortDuration(d), "%v", d)
	}
}

func TestDisplayValue_QuotesWhatWouldBreakATable(t *testing.T) {
	for v, want := range map[string]string{
		"plain":       "plain",
		"two words":   "two words",
		"":            `""`,
		" lead":       `" lead"`,
		"line\nbreak": `"line\nbreak"`,
		"tab\there":   `"tab\there"`,
		"ünïcode":     "ünïcode",
	} {
		assert.Equal(t, want, displayValue(v), "%q", v)
	}
}
