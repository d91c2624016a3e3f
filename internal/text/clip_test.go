package text_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client/internal/text"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClip_CutsOnARuneBoundary(t *testing.T) {
	assert.Equal(t, "short", text.Clip("short"))
	s := strings.Repeat("é", text.Max) // two bytes a rune
	got := text.Clip(s)
	assert.True(t, utf8.ValidString(got))
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.LessOrEqual(t, len(got), text.Max+len("…"))
}

func TestWriteContext_WritesOnlyTheSetParts(t *testing.T) {
	for _, c := range []struct{ op, key, ep, want string }{
		{"set", "/a", "http://n1", "set /a on http://n1: "},
		{"set", "", "http://n1", "set on http://n1: "},
		{"", "/a", "", "/a: "},
		{"", "", "", ""},
	} {
		var b strings.Builder
		text.WriteContext(&b, c.op, c.key, c.ep)
		assert.Equal(t, c.want, b.String())
	}
}

type detailed struct{ error }

func (detailed) Detail() string { return "the detail" }

func TestDescribe_PrefersTheDetail(t *testing.T) {
	assert.Equal(t, "the detail", text.Describe(detailed{errors.New("long message")}))
	assert.Equal(t, "plain", text.Describe(errors.New("plain")))
	assert.Equal(t, "<nil>", text.Describe(nil))
}
