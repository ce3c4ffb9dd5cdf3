// Package echo cuts a caller's input to the form in which the module's
// error messages repeat it: at most Max characters, valid UTF-8. The root
// package, httpapi and webui share it, so that no error is bigger than a
// bounded multiple of its text however big the input.
package echo

import (
	"strings"
	"unicode/utf8"
)

// Max is how many characters of a caller's input an error message repeats
// at most (a field name, a URL, a status); longer input is cut there and
// marked with "…".
const Max = 64

// Cut returns s cut to Max characters (with "…" when cut) and with invalid
// UTF-8 replaced.
func Cut(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= Max {
		return s
	}
	i, n := 0, 0
	for i = range s {
		if n == Max {
			break
		}
		n++
	}
	return s[:i] + "…"
}
