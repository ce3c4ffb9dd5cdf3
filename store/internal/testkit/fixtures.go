// Package testkit holds what this module's store tests share and can
// write with the standard library alone — fixtures, goroutines released
// at once, the count of the calls that won a race — so that
// store/storetest and its sub-packages, which stores written elsewhere
// import, may use it as the stores' own tests do.
package testkit

import (
	"crypto/sha256"
	"time"

	"github.com/gousers/users/store"
)

// T0 is the tests' fixed clock, in a zone other than UTC so that the UTC
// conversion is checked, with microseconds so that their loss is seen.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.FixedZone("CET", 3600))

// HashOf returns the SHA-256 of s, a token or session hash.
func HashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// User returns an active user created and updated at T0, with the
// lower-cased email as its key ("" for a user without email).
func User(id, email string) *store.User {
	u := &store.User{
		ID: id, Email: email, Status: store.StatusActive,
		CreatedAt: T0, UpdatedAt: T0,
	}
	if email != "" {
		u.EmailKey = lower(email)
	}
	return u
}

// lower lower-cases ASCII letters only, as a fixture's addresses need.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Mail returns a pending verification mail, due when it is created.
func Mail(id, userID, to string, created time.Time) *store.Mail {
	return &store.Mail{
		ID: id, Kind: "verify-email", UserID: userID, To: to,
		Subject: "Verify your email address", Text: "text " + id, HTML: "<p>" + id + "</p>",
		Status: store.MailPending, CreatedAt: created, NextAttemptAt: created,
	}
}
