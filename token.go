package users

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/gousers/users/store"
)

// Tokens are 32 random bytes from crypto/rand, encoded as unpadded
// base64url (43 characters). Only their SHA-256 reaches the Store.
const (
	tokenBytes = 32
	tokenLen   = 43 // base64.RawURLEncoding.EncodedLen(tokenBytes)
)

// newToken mints a token for user and purpose, valid for ttl from now and
// bound to the address it is mailed to (emailKey, a normalised email): it
// is good only while its user still has that address. It returns the token
// (for the mail link only) and its record (for the Store).
func newToken(userID, emailKey string, purpose store.Purpose, now time.Time, ttl time.Duration) (string, *store.Token, error) {
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(tok))
	return tok, &store.Token{
		Hash:      sum[:],
		Purpose:   purpose,
		UserID:    userID,
		EmailKey:  emailKey,
		CreatedAt: now,
		ExpiresAt: now.Add(ttl),
	}, nil
}

// parseToken checks a token's shape — exactly 43 base64url characters that
// decode to 32 bytes — and returns its SHA-256. A token that cannot be ours
// is rejected here, before any store work.
func parseToken(tok string) ([]byte, bool) {
	if len(tok) != tokenLen {
		return nil, false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	// The last character carries 4 padding bits that must be zero for the
	// encoding to be canonical; Strict decoding rejects the others, so that
	// two spellings never name one token.
	if _, err := base64.RawURLEncoding.Strict().DecodeString(tok); err != nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(tok))
	return sum[:], true
}

// allPurposes lists every token purpose: what a change of a user's address
// or status revokes.
var allPurposes = []store.Purpose{store.PurposeVerifyEmail, store.PurposeInvite, store.PurposePasswordReset}

// passwordPurposes lists what a new password revokes: the links that would
// set the password again.
var passwordPurposes = []store.Purpose{store.PurposePasswordReset}

// otherPurposes lists every purpose but p: what consuming a token of
// purpose p revokes besides it (the consumed token stays, consumed).
func otherPurposes(p store.Purpose) []store.Purpose {
	out := make([]store.Purpose, 0, len(allPurposes)-1)
	for _, q := range allPurposes {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}
