package users

import (
	"strings"

	"github.com/gousers/users/internal/validate"
)

// maxPassBytes bounds passwords: longer ones are refused before hashing.
const maxPassBytes = 1024

// NormalizeEmail returns the key under which an email is unique: trimmed of
// surrounding white space and lower-cased (local part and domain). Two
// addresses with the same key are the same user. It does not validate:
// every flow that takes an address does.
//
// White space around an address (spaces, tabs, line breaks, as
// strings.TrimSpace defines it) is not part of it: every flow that takes
// an address trims it and keeps the trimmed form, so "a@example.com " and
// "	a@example.com" are a@example.com. White space or any other control
// character inside an address is refused.
//
// Every flow takes a plain address: exactly one @; a local part of 1 to 64
// printable ASCII characters without spaces, quotes or ()<>[]\,;: and
// without a leading, trailing or doubled dot; a domain of two or more
// labels of letters, digits and hyphens (an internationalised domain in
// its xn-- form); 254 characters at most.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// validateEmail checks that email, trimmed of surrounding white space, is
// a plain address (see validate.Email). The error is a *ValidationError for
// the field "email".
func validateEmail(email string) error {
	if reason := validate.Email(strings.TrimSpace(email)); reason != "" {
		return invalid("email", reason)
	}
	return nil
}

// validateName checks first_name / last_name (see validate.Name): at most
// 50 characters of visible text.
func validateName(field, v string) error {
	if reason := validate.Name(v); reason != "" {
		return invalid(field, reason)
	}
	return nil
}

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
