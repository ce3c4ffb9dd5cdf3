package users

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/gousers/users/store"
)

// TokenUser returns the user a mailed token belongs to, without consuming
// it, so that a page behind a mailed link can show the address before its
// owner acts (and say at once when the link is no longer good). The token
// must be live for purpose — well formed, known, of that purpose, unused,
// unexpired — and its user in the status the consuming call requires
// (unverified for PurposeVerifyEmail, invited for PurposeInvite, active for
// PurposePasswordReset); otherwise the error matches ErrInvalidToken (and,
// more precisely, ErrTokenExpired or ErrTokenUsed). It changes nothing.
func (m *Manager) TokenUser(ctx context.Context, token string, purpose store.Purpose) (*User, error) {
	var status Status
	switch purpose {
	case store.PurposeVerifyEmail:
		status = StatusUnverified
	case store.PurposeInvite:
		status = StatusInvited
	case store.PurposePasswordReset:
		status = StatusActive
	default:
		return nil, opErr("token user", invalid("purpose", fmt.Sprintf("names no token purpose: %q", purpose)))
	}
	_, u, err := m.liveToken(ctx, token, purpose, status)
	if err != nil {
		return nil, opErr("token user", err)
	}
	return publicUser(u), nil
}

// liveToken parses a token and checks it against the store before any
// expensive work: known, of the purpose, unused, unexpired, and its user
// still at the address it was mailed to and in the given status. It
// returns the token's record and its user. ConsumeToken checks all of it
// again atomically (the caller passes Condition.EmailKey and the status).
func (m *Manager) liveToken(ctx context.Context, token string, purpose store.Purpose, status Status) (*store.Token, *store.User, error) {
	hash, ok := parseMailedToken(m.sess.tokenKey, token)
	if !ok {
		return nil, nil, ErrInvalidToken
	}
	rec, user, err := m.store.GetTokenUser(ctx, hash)
	if err != nil {
		return nil, nil, tokenError(err)
	}
	switch {
	case rec.Purpose != purpose:
		return nil, nil, ErrInvalidToken
	case rec.ConsumedAt != nil:
		return nil, nil, ErrTokenUsed
	case !m.clock().Before(rec.ExpiresAt):
		return nil, nil, ErrTokenExpired
	}
	// A token minted before tokens were bound to an address has no
	// EmailKey: it is refused like one whose address changed.
	if user.Status != status || rec.EmailKey == "" || user.EmailKey != rec.EmailKey {
		return nil, nil, ErrInvalidToken
	}
	rec.Hash = hash
	return rec, user, nil
}

// tokenError maps a Store error met while handling a token: not found and
// precondition failures are an invalid token.
func tokenError(err error) error {
	switch {
	case isNotFound(err), errors.Is(err, store.ErrConflict):
		return ErrInvalidToken
	}
	return err
}

// Tokens are 32 bytes encoded as unpadded base64url (43 characters); only
// their SHA-256 reaches the Store. A mailed token (verification,
// invitation, password reset, email change) is 24 random bytes from
// crypto/rand and an 8-byte tag, the start of an HMAC-SHA256 of those 24
// bytes under a key derived from the Manager's secret, when the secret is
// configured (WithSecret): a token that was never minted under that secret
// is then refused without any Store work, so a flood of made-up tokens
// costs no database reads. Under the default random secret, which does not
// outlive the process, the 32 bytes are all random and unchecked, so that
// mailed links survive a restart; a Manager given a secret later refuses
// the links mailed before (as one given another secret does). Refresh
// tokens are 32 random bytes either way.
const (
	tokenBytes    = 32
	tokenLen      = 43 // base64.RawURLEncoding.EncodedLen(tokenBytes)
	tokenTagBytes = 8
)

// newToken mints a token for user and purpose, valid for ttl from now and
// bound to the address it is mailed to (emailKey, a normalised email): it
// is good only while its user still has that address. key is the mailed
// tokens' tag key (nil: no tag). It returns the token (for the mail link
// only) and its record (for the Store).
func newToken(key []byte, userID, emailKey string, purpose store.Purpose, now time.Time, ttl time.Duration) (string, *store.Token, error) {
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	if key != nil {
		copy(raw[tokenBytes-tokenTagBytes:], tokenTag(key, raw[:tokenBytes-tokenTagBytes]))
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

// tokenTag is the tag of a mailed token's random part.
func tokenTag(key, random []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(random)
	return h.Sum(nil)[:tokenTagBytes]
}

// parseMailedToken is parseToken for a mailed token: with a tag key, the
// token's tag must also match (in constant time), or it is refused before
// any Store work.
func parseMailedToken(key []byte, tok string) ([]byte, bool) {
	raw, ok := decodeToken(tok)
	if !ok {
		return nil, false
	}
	if key != nil && !hmac.Equal(raw[tokenBytes-tokenTagBytes:], tokenTag(key, raw[:tokenBytes-tokenTagBytes])) {
		return nil, false
	}
	sum := sha256.Sum256([]byte(tok))
	return sum[:], true
}

// parseToken checks a token's shape — exactly 43 base64url characters that
// decode to 32 bytes — and returns its SHA-256. A token that cannot be ours
// is rejected here, before any store work.
func parseToken(tok string) ([]byte, bool) {
	if _, ok := decodeToken(tok); !ok {
		return nil, false
	}
	sum := sha256.Sum256([]byte(tok))
	return sum[:], true
}

// decodeToken decodes a token of the right shape into its 32 bytes.
func decodeToken(tok string) ([]byte, bool) {
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
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) != tokenBytes {
		return nil, false
	}
	return raw, true
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
