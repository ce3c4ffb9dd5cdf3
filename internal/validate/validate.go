// Package validate holds the checks of text that the root package applies
// to people's input (addresses, names, the project name) and that httpapi
// and webui apply first when one request makes several calls. Each returns
// the reason a value is refused, phrased to follow the field's name, or ""
// when the value is fine; the caller wraps the reason in its own error.
package validate

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits (RFC 5321 §4.5.3.1 for addresses; Directus's columns for names).
const (
	maxEmailLen = 254
	maxLocalLen = 64
	maxLabelLen = 63
	// MaxNameLen is the longest first or last name, in characters
	// (Directus's column and form limit).
	MaxNameLen = 50
	// MaxProjectNameLen is the longest project name, in characters
	// (Directus keeps project_name in a 100-character column).
	MaxProjectNameLen = 100
)

// Email checks that e, as given (callers trim surrounding white space
// first), is a plain address: exactly one '@'; a local part of 1-64
// printable ASCII characters without spaces, quotes or the specials
// ()<>[]\,;:, not starting or ending with a dot and without two dots in a
// row; a domain of at least two dot-separated labels of letters, digits
// and hyphens (1-63 characters, not starting or ending with a hyphen); 254
// characters at most. Non-ASCII addresses are refused (an
// internationalised domain is accepted in its xn-- form), which also
// shuts out look-alike characters.
func Email(e string) string {
	if e == "" {
		return "is required"
	}
	if len(e) > maxEmailLen {
		return "must be at most 254 characters"
	}
	at := strings.IndexByte(e, '@')
	if at < 0 || strings.IndexByte(e[at+1:], '@') >= 0 {
		return "must be a valid email address with exactly one @"
	}
	local, domain := e[:at], e[at+1:]
	if local == "" || len(local) > maxLocalLen {
		return "must have a local part of 1 to 64 characters"
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>[]\,;:"`, c) >= 0 {
			return "must be a valid email address"
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "must be a valid email address"
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "must be a valid email address"
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen || l[0] == '-' || l[len(l)-1] == '-' {
			return "must be a valid email address"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return "must be a valid email address"
			}
		}
	}
	return ""
}

// Name checks a first or last name: at most MaxNameLen characters (what
// Directus's directus_users columns hold and its form fields accept), and
// visible text only (see Text): a name is mailed to the address it came
// with, so bidi controls would let a stranger reorder the text of a real
// mail, and control characters would let it forge lines.
func Name(name string) string {
	if utf8.RuneCountInString(name) > MaxNameLen {
		return fmt.Sprintf("must be at most %d characters", MaxNameLen)
	}
	return Text(name)
}

// ProjectName checks a project name: at most MaxProjectNameLen
// characters, valid UTF-8, and none that would garble a mail — controls
// (line breaks included), bidi overrides and other invisible format
// characters, line and paragraph separators, private-use characters and
// noncharacters.
func ProjectName(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(name) > MaxProjectNameLen:
		return fmt.Sprintf("must be at most %d characters", MaxProjectNameLen)
	}
	for _, r := range name {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Noncharacter_Code_Point) {
			return fmt.Sprintf("must not contain control, bidi or invisible formatting characters (found U+%04X)", r)
		}
	}
	return ""
}

// Text checks text that people read (names, descriptions): valid UTF-8,
// and none of
//
//   - control characters (C0, DEL, C1), line and paragraph separators;
//   - format characters (Unicode category Cf): bidi embeddings,
//     overrides and isolates (U+202A-U+202E, U+2066-U+2069), marks
//     (U+200E, U+200F, U+061C), zero-width spaces, the word joiner, the
//     BOM, soft hyphens, tag characters;
//   - other default-ignorable characters, which render as nothing (Hangul
//     fillers, U+115F, U+1160, U+3164, U+FFA0; U+034F; U+180B-U+180F),
//     private-use and unassigned-surrogate code points, noncharacters.
//
// Two exceptions keep real names writable: the zero-width non-joiner and
// joiner (U+200C, U+200D) between two letters, marks or symbols, as
// Persian and Indic scripts (and emoji sequences) need them, and variation
// selectors after a letter, mark or symbol (emoji and CJK variants).
func Text(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	var prev rune = -1
	for i, r := range s {
		switch {
		case r == '\u200c' || r == '\u200d':
			next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
			if !isLetterOrMark(prev) || !isLetterOrMark(next) {
				return "must not contain invisible format characters (bidi controls, zero-width characters)"
			}
		case unicode.Is(unicode.Variation_Selector, r):
			if !isLetterOrMark(prev) {
				return "must not contain invisible format characters (bidi controls, zero-width characters)"
			}
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return "must not contain control characters"
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r):
			return "must not contain invisible format characters (bidi controls, zero-width characters)"
		case unicode.Is(unicode.Co, r) || isNoncharacter(r):
			return "must not contain private-use or noncharacter code points"
		}
		prev = r
	}
	return ""
}

// isLetterOrMark reports letters, marks and symbols (emoji sequences join
// symbols).
func isLetterOrMark(r rune) bool {
	return r >= 0 && (unicode.IsLetter(r) || unicode.IsMark(r) || unicode.In(r, unicode.So, unicode.Sk))
}

// isNoncharacter reports the 66 code points Unicode reserves as
// noncharacters (U+FDD0-U+FDEF and the last two of every plane).
func isNoncharacter(r rune) bool {
	return r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE
}
