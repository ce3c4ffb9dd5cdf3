// Package userstest helps an application test code that uses package
// users: a Hasher that makes password hashing cost nothing, so that a test
// suite that registers and logs in users runs in milliseconds.
//
// It is for tests only: never import it from production code.
package userstest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Hasher is a fast, salted SHA-256 password hasher, for tests only: fast,
// insecure. It implements users.Hasher; pass it to users.WithHasher in a
// test. Never use it in production: SHA-256 is far too fast to resist
// offline guessing. It reads only the hashes it made.
type Hasher struct{}

const prefix = "$insecure-sha256$"

var errBadHash = errors.New("userstest: not a hash of userstest.Hasher")

// Hash returns a salted SHA-256 of password.
func (Hasher) Hash(password string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("userstest: reading salt: %w", err)
	}
	sum := sha256.Sum256(append(salt, password...))
	b64 := base64.RawStdEncoding
	return prefix + b64.EncodeToString(salt) + "$" + b64.EncodeToString(sum[:]), nil
}

// Verify reports whether password matches encoded, a hash Hash made; any
// other string is an error.
func (Hasher) Verify(password, encoded string) (bool, error) {
	rest, ok := strings.CutPrefix(encoded, prefix)
	if !ok {
		return false, errBadHash
	}
	s, h, ok := strings.Cut(rest, "$")
	if !ok {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(s)
	want, err2 := b64.DecodeString(h)
	if err1 != nil || err2 != nil {
		return false, errBadHash
	}
	sum := sha256.Sum256(append(salt, password...))
	return subtle.ConstantTimeCompare(sum[:], want) == 1, nil
}

// NeedsRehash reports whether encoded is not a hash Hash made.
func (Hasher) NeedsRehash(encoded string) bool { return !strings.HasPrefix(encoded, prefix) }
