package users

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gousers/users/store"
)

// jwtIssuer is the iss claim, as Directus writes it.
const jwtIssuer = "directus"

// maxAccessTokenBytes bounds what is parsed as an access token.
const maxAccessTokenBytes = 4096

// accessClaims are the claims of an access token.
type accessClaims struct {
	ID          string  `json:"id"`
	Role        *string `json:"role"`
	AppAccess   bool    `json:"app_access"`
	AdminAccess bool    `json:"admin_access"`
	Session     string  `json:"session"`
	// SessionCookie marks a token minted for a session cookie: only such a
	// token may renew itself (Refresh) or end its session (Logout).
	SessionCookie bool `json:"session_cookie,omitempty"`
	// Generation is, in a session-cookie token, the session's generation
	// it was minted for: renewing it retires that generation (see renew).
	Generation int64 `json:"session_generation,omitempty"`
	jwt.RegisteredClaims
}

// mintAccess signs an access token for u in session sid; a session-cookie
// token (cookie) carries the session's generation gen.
func (m *Manager) mintAccess(u *store.User, sid string, admin, cookie bool, gen int64, now time.Time) (string, time.Time, error) {
	exp := now.Add(m.sess.accessTTL).Truncate(time.Second)
	if !cookie {
		gen = 0
	}
	c := accessClaims{
		ID: u.ID, Role: u.Role, AppAccess: admin, AdminAccess: admin, Session: sid, SessionCookie: cookie, Generation: gen,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    jwtIssuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(m.sess.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing the access token: %w", err)
	}
	return tok, exp, nil
}

// parseAccess checks an access token's signature, issuer and — unless
// anyAge — expiry on the Manager's clock. Errors: ErrTokenExpired,
// ErrInvalidToken.
func (m *Manager) parseAccess(tok string, anyAge bool) (*accessClaims, error) {
	if len(tok) > maxAccessTokenBytes || strings.Count(tok, ".") != 2 {
		return nil, ErrInvalidToken
	}
	if !anyAge {
		if c := m.sess.verified.get(tok); c != nil {
			if !m.now().Before(c.ExpiresAt.Time) {
				return nil, ErrTokenExpired
			}
			return c, nil
		}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(jwtIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(m.now),
	}
	if anyAge {
		opts = []jwt.ParserOption{jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithoutClaimsValidation()}
	}
	var c accessClaims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return m.sess.key, nil }, opts...)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrTokenExpired
	default:
		return nil, ErrInvalidToken
	}
	if anyAge && c.Issuer != jwtIssuer {
		return nil, ErrInvalidToken
	}
	if c.ID == "" || c.Session == "" {
		return nil, ErrInvalidToken
	}
	if !anyAge {
		m.sess.verified.put(tok, &c)
	}
	return &c, nil
}

// maxVerifiedTokens bounds the verified-token cache (about 2 MB of real
// tokens, which are some 400 bytes each).
const maxVerifiedTokens = 4096

// verifiedTokens remembers the claims of access tokens whose signature,
// issuer and expiry were checked, so that a token presented again (every
// request of a client carries the same one) skips the signature check and
// the JSON decoding of its claims: about a quarter of the cost of
// resolving it. A token is the key, byte for byte, so only a token this
// Manager signed is ever found; its expiry is checked again on every use;
// the session and the user are still read from the Store every time
// (revocation stays immediate). When full, it is emptied. Claims are never
// changed after parsing, so they are shared.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]*accessClaims
}

func (v *verifiedTokens) get(tok string) *accessClaims {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[tok]
}

func (v *verifiedTokens) put(tok string, c *accessClaims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxVerifiedTokens {
		v.m = make(map[string]*accessClaims)
	}
	v.m[tok] = c
}

// looksLikeJWT tells an access token from a refresh token (which has no
// dots).
func looksLikeJWT(tok string) bool { return strings.Contains(tok, ".") }

// SecretIsRandom reports whether the Manager signs with a secret it drew
// itself (no WithSecret): its tokens die with the process and no other
// instance accepts them. A host warns about it at start-up.
func (m *Manager) SecretIsRandom() bool { return m.sess.randomKey }
