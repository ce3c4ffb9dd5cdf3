package echo

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestCut(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "short", Cut("short"))
	exact := strings.Repeat("é", Max)
	assert.Equal(t, exact, Cut(exact), "Max characters are kept whole")
	long := strings.Repeat("é", Max+1)
	got := Cut(long)
	assert.Equal(t, strings.Repeat("é", Max)+"…", got, "cut at Max characters, not bytes")
	bad := Cut("a\xffb")
	assert.True(t, utf8.ValidString(bad))
	assert.Equal(t, "a\uFFFDb", bad)
}
