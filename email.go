package users

import (
	"strings"
	"unicode/utf8"
)

// Email limits (RFC 5321 §4.5.3.1).
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxLabelLen  = 63
	maxNameLen   = 50   // first_name, last_name, in characters (Directus's column and form limit)
	maxPassBytes = 1024 // longer passwords are refused before hashing
)

// NormalizeEmail returns the key under which an email is unique: trimmed of
// surrounding white space and lower-cased (local part and domain). Two
// addresses with the same key are the same user. It does not validate; see
// ValidateEmail.
//
// White space around an address (spaces, tabs, line breaks, as
// strings.TrimSpace defines it) is not part of it: every flow that takes
// an address trims it and keeps the trimmed form, so "a@example.com " and
// "	a@example.com" are a@example.com. White space or any other control
// character inside an address is refused.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// ValidateEmail checks that email (after trimming surrounding white space)
// is a plain address: exactly one '@'; a local part of 1-64 printable ASCII
// characters without spaces, quotes or the specials ()<>[]\,;:, not
// starting or ending with a dot and without two dots in a row; a domain of
// at least two dot-separated labels of letters, digits and hyphens (1-63
// characters, not starting or ending with a hyphen); 254 characters at
// most. Non-ASCII addresses are refused (an internationalised domain is
// accepted in its xn-- form), which also shuts out look-alike characters.
// The error is a *ValidationError for the field "email".
func ValidateEmail(email string) error {
	if reason := emailProblem(strings.TrimSpace(email)); reason != "" {
		return invalid("email", reason)
	}
	return nil
}

func emailProblem(e string) string {
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

// validateName checks first_name / last_name: at most 50 characters (what
// Directus's directus_users columns hold and its form fields accept), and
// visible text only (see textProblem): a name is mailed to the address it
// came with, so bidi controls would let a stranger reorder the text of a
// real mail, and control characters would let it forge lines.
func validateName(field, v string) error {
	if utf8.RuneCountInString(v) > maxNameLen {
		return invalid(field, "must be at most 50 characters")
	}
	if reason := textProblem(v); reason != "" {
		return invalid(field, reason)
	}
	return nil
}

// ValidateName reports whether name may be a user's first or last name
// (the rules Create and UpdateUser apply: at most 50 characters of visible
// text). The error is a *ValidationError naming field. A handler that
// makes several calls for one request checks its names with it first, so
// that a refused name leaves the request's other changes unmade.
func ValidateName(field, name string) error { return validateName(field, name) }

// validatePasswordShape checks a password before any hashing: present, and
// at most 1 KiB so that a huge input cannot buy unbounded hashing work.
func validatePasswordShape(pw string) error {
	if pw == "" {
		return invalid("password", "is required")
	}
	if len(pw) > maxPassBytes {
		return invalid("password", "must be at most 1024 bytes")
	}
	return nil
}
