package users

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// A delivery error is stored with the mail: its truncated form is always
// valid UTF-8 (PostgreSQL refuses anything else), cut on a character.
func TestTruncateKeepsUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in string }{
		{strings.Repeat("é", 300)},               // 2-byte runes across the cut
		{strings.Repeat("a", 499) + "日本語"},       // a 3-byte rune straddling byte 500
		{"550 \xff\xfe bad bytes from a server"}, // invalid input
		{strings.Repeat("\xff", 600)},
	} {
		got := truncate(tc.in, 500)
		assert.True(t, utf8.ValidString(got), "%q", got)
		assert.LessOrEqual(t, len(got), 500+len("…"))
	}
	assert.Equal(t, "short", truncate("short", 500))
	assert.Equal(t, strings.Repeat("é", 250)+"…", truncate(strings.Repeat("é", 300), 500))
	assert.Equal(t, strings.Repeat("a", 499)+"…", truncate(strings.Repeat("a", 499)+"日本語", 500))
}
