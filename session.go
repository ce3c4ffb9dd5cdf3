package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/gousers/users/store"
)

// Sessions
//
// Login opens a session and answers two tokens:
//
//   - an access token: a JWT signed with HS256 and the Manager's secret
//     (WithSecret; Directus's SECRET), with Directus's claims — id, role,
//     app_access, admin_access, session (the session id), iat, exp and
//     iss "directus". app_access mirrors admin_access (the data model has
//     no separate app-access flag); session names the session, where
//     Directus's session mode puts the refresh token itself. It lives
//     ACCESS_TOKEN_TTL (WithSessionLifetimes, default 15 minutes).
//   - a refresh token: 256 random bits, opaque, of which the Store keeps
//     only the SHA-256. Refresh trades it for a new pair and the old one
//     stops working (rotation); presenting an already-rotated refresh
//     token ends the whole session (reuse detection: a stolen token and
//     its legitimate holder cannot both go on). It lives
//     REFRESH_TOKEN_TTL (default 7 days) from the last refresh.
//
// Revocation is immediate. ResolveAccessToken checks the signature and
// expiry, and then reads the session and the user from the Store: a
// session ended by Logout, EndSession, a password change or reset, a
// status change away from active, an email change or the user's deletion
// stops working for the very next request resolved after that change
// committed, on every instance that shares the Store. The token's
// role and admin_access claims are informative only: admin access is
// read afresh from the user's role and policies on every resolution. A
// verifier that checks only the signature and exp (a stateless JWT
// library elsewhere sharing the secret) would accept a revoked token
// until its exp, at most ACCESS_TOKEN_TTL after it was minted.

// MinSecretBytes is the shortest secret WithSecret accepts: a shorter
// HMAC key could be guessed offline from any access token.
const MinSecretBytes = 32

// maxUserAgentBytes is how much of a client's User-Agent a session keeps.
const maxUserAgentBytes = 512

// maxAccessTokenBytes bounds what is parsed as an access token.
const maxAccessTokenBytes = 4096

// jwtIssuer is the iss claim, as Directus writes it.
const jwtIssuer = "directus"

// LoginInput is a login attempt.
type LoginInput struct {
	Email    string
	Password string
	// IP is the client's address; it keys the per-IP login limit
	// (WithLoginIPLimiter) and is kept with the session. Empty: the
	// per-IP limit does not apply, only the per-address one.
	IP string
	// UserAgent is kept with the session (its first 512 bytes).
	UserAgent string
	// Device is the device cookie the client presented (Session.Device
	// of an earlier login), or "". A device cookie that an earlier
	// successful login for the same address issued lets the attempt skip
	// the limits for unknown devices (see Login).
	Device string
	// SessionCookie says the access token will be kept in an HttpOnly
	// cookie (Directus's "session" mode): no refresh token is returned,
	// and Refresh and Logout accept that access token instead, expired
	// or not, while its session lasts. Access tokens minted otherwise
	// cannot be used that way.
	SessionCookie bool
}

// Session is an open login session: what Login and Refresh answer.
type Session struct {
	ID            string // the session id (the access token's session claim)
	User          *User
	AccessToken   string
	AccessExpires time.Time
	// RefreshToken is "" for a session-cookie session (see
	// LoginInput.SessionCookie).
	RefreshToken   string
	RefreshExpires time.Time // when the session ends unless refreshed
	// Device is a new device cookie for this address (Login only; ""
	// from Refresh). Keep it on the client for DeviceCookieLifetime.
	Device string
}

// Principal is who an access token speaks for (ResolveAccessToken).
type Principal struct {
	User      *User
	SessionID string
	// Admin reports whether the user's role or one of its policies has
	// admin access, as read from the Store for this resolution.
	Admin     bool
	ExpiresAt time.Time // the access token's exp
}

// sessionState is the Manager's session machinery.
type sessionState struct {
	key         []byte // HS256 key
	deviceKey   []byte // HMAC key of device cookies, derived from key
	accessTTL   time.Duration
	refreshTTL  time.Duration
	reset       *AllowList
	ipLimit     Limiter // nil: no limit
	deviceLimit Limiter // nil: no limit
	verifyCosts *verifyCosts
	randomKey   bool
	lastPurge   atomic.Int64 // UnixNano of Run's last purge
}

func newSessionState(c *config) (*sessionState, error) {
	o := c.sess
	if o.accessTTL == 0 {
		o.accessTTL = DefaultAccessTokenTTL
	}
	if o.refreshTTL == 0 {
		o.refreshTTL = DefaultRefreshTokenTTL
	}
	if o.refreshTTL < o.accessTTL {
		return nil, fmt.Errorf("users: the refresh lifetime (%v) must not be shorter than the access lifetime (%v)", o.refreshTTL, o.accessTTL)
	}
	if o.accessTTL < time.Second {
		return nil, errors.New("users: the access-token lifetime must be at least 1s")
	}
	reset, err := NewAllowList(o.resetEntries...)
	if err != nil {
		return nil, fmt.Errorf("users: password reset URL allow-list: %w", err)
	}
	st := &sessionState{
		key:         o.secret,
		accessTTL:   o.accessTTL,
		refreshTTL:  o.refreshTTL,
		reset:       reset,
		ipLimit:     o.ipLimit,
		deviceLimit: o.deviceLimit,
		verifyCosts: newVerifyCosts(o.failedLoginMin),
	}
	if st.key == nil {
		st.key = make([]byte, MinSecretBytes)
		if _, err := rand.Read(st.key); err != nil {
			return nil, fmt.Errorf("users: drawing a secret: %w", err)
		}
		st.randomKey = true
	}
	st.deviceKey = deriveKey(st.key, "users device cookie v1")
	if !o.ipLimitSet {
		st.ipLimit = NewMemoryLimiter(5, 15*time.Minute, WithLimiterClock(c.now))
	}
	if !o.deviceLimitSet {
		st.deviceLimit = NewMemoryLimiter(10, 15*time.Minute, WithLimiterClock(c.now))
	}
	return st, nil
}

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
	jwt.RegisteredClaims
}

// mintAccess signs an access token for u in session sid.
func (m *Manager) mintAccess(u *store.User, sid string, admin, cookie bool, now time.Time) (string, time.Time, error) {
	exp := now.Add(m.sess.accessTTL).Truncate(time.Second)
	c := accessClaims{
		ID: u.ID, Role: u.Role, AppAccess: admin, AdminAccess: admin, Session: sid, SessionCookie: cookie,
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
	return &c, nil
}

// looksLikeJWT tells an access token from a refresh token (which has no
// dots).
func looksLikeJWT(tok string) bool { return strings.Contains(tok, ".") }

// newRefreshToken mints a refresh token and its SHA-256.
func newRefreshToken() (string, []byte, error) {
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(tok))
	return tok, sum[:], nil
}

// Login checks the email and password and, for an active user, opens a
// session (see "Sessions" above for the tokens and their lifetimes).
// Every failure — unknown address, wrong password, inactive user, no
// password, malformed input — is ErrInvalidCredentials, and takes the
// same time (below). A user whose stored hash was made with other
// parameters than the Manager's hasher (imported from Directus, or from
// before the parameters changed) is rehashed with the password on a
// successful login.
//
// Limits, following OWASP's advice against online guessing: an attempt
// that presents a device cookie (in.Device) issued by an earlier
// successful login for the same address counts only against that device
// (WithDeviceLimiter; a cookie issued before the user's password last
// changed also against one count shared by every such cookie of the
// address); any other attempt counts against the client IP and
// the address (WithLoginIPLimiter) and against the address
// (WithLoginLimiter). So strangers guessing an address cannot lock its
// owner out of a device that logged in before. A successful login from an
// unknown device clears the IP's and the address's counts; one from a
// known device only the device's (the strangers' count against the
// address stands); a password reset clears the address's count. Over a
// limit Login answers a *RateLimitError (ErrRateLimited) before looking the
// user up (a cookie issued under an older password is found out after the
// lookup, and its shared count asked then, still before any hashing).
// Accounts are never suspended for failures.
//
// Timing: the password check of a failed login takes at least as long as
// the Manager has measured verification to take at the slowest hash
// parameters it has met (a high percentile of recent verifications, per
// parameter set, with a margin), so a wrong password for a user hashed at
// costlier parameters takes as long as an unknown address. The costs are
// learned from the verifications logins perform anyway, never from extra
// hashing; see WithFailedLoginMinimum for the first probe after a start.
// Successful logins are not padded.
//
// Under load the hashing limit may answer ErrBusy (WithHashConcurrency).
func (m *Manager) Login(ctx context.Context, in LoginInput) (*Session, error) {
	s, err := m.login(ctx, in)
	m.observeFlow(FlowLogin, OutcomeAuthenticated, err)
	if err != nil {
		return nil, opErr("login", err)
	}
	return s, nil
}

func (m *Manager) login(ctx context.Context, in LoginInput) (*Session, error) {
	u, key, err := m.checkCredentials(ctx, in)
	if err != nil {
		return nil, err
	}
	now := m.clock()
	refresh, hash, err := newRefreshToken()
	if err != nil {
		return nil, err
	}
	rec := &store.Session{
		ID:          uuid.NewString(),
		UserID:      u.ID,
		TokenHash:   hash,
		CreatedAt:   now,
		RefreshedAt: now,
		ExpiresAt:   now.Add(m.sess.refreshTTL),
		IP:          in.IP,
		UserAgent:   clip(in.UserAgent, maxUserAgentBytes),
	}
	pw, addr := u.PasswordHash, u.EmailKey
	err = m.store.CreateSession(ctx, rec, store.Condition{Status: StatusActive, PasswordHash: &pw, EmailKey: &addr})
	switch {
	case errors.Is(err, store.ErrConflict), isNotFound(err):
		// The password, the status, the address or the user changed since
		// the check: each of those ends the user's sessions.
		return nil, ErrInvalidCredentials
	case err != nil:
		return nil, err
	}
	admin, err := m.adminAccess(ctx, u)
	if err != nil {
		return nil, err
	}
	access, exp, err := m.mintAccess(u, rec.ID, admin, in.SessionCookie, now)
	if err != nil {
		return nil, err
	}
	s := &Session{
		ID: rec.ID, User: publicUser(u), AccessToken: access, AccessExpires: exp,
		RefreshToken: refresh, RefreshExpires: rec.ExpiresAt, Device: m.newDevice(key, u.PasswordHash, now),
	}
	if in.SessionCookie {
		s.RefreshToken = ""
	}
	return s, nil
}

// clip cuts s to at most n bytes on a character boundary, as valid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Refresh trades a refresh token for a new access token and a new refresh
// token; the one presented stops working. Errors, each matching
// ErrInvalidToken: ErrTokenReused when the token was already rotated (it
// leaked, or a client replayed it: its whole session is ended),
// ErrTokenExpired when the session lapsed, and ErrInvalidToken when the
// token is unknown, its session ended, or its user is no longer active
// (that session is ended too).
//
// For a session-cookie session (LoginInput.SessionCookie), token is that
// session's access token, expired or not: the session is checked as above
// and a new access token is answered (no refresh token; the session keeps
// its end, RefreshExpires).
func (m *Manager) Refresh(ctx context.Context, token string) (*Session, error) {
	var (
		s   *Session
		err error
	)
	if looksLikeJWT(token) {
		s, err = m.renew(ctx, token)
	} else {
		s, err = m.refresh(ctx, token)
	}
	if err != nil {
		return nil, opErr("refresh", err)
	}
	return s, nil
}

func (m *Manager) refresh(ctx context.Context, token string) (*Session, error) {
	old, ok := parseToken(token)
	if !ok {
		return nil, ErrInvalidToken
	}
	next, hash, err := newRefreshToken()
	if err != nil {
		return nil, err
	}
	now := m.clock()
	rec, u, err := m.store.RotateSession(ctx, old, hash, now, now.Add(m.sess.refreshTTL), store.Condition{Status: StatusActive})
	switch {
	case errors.Is(err, ErrTokenReused):
		m.log.WarnContext(ctx, "users: a rotated refresh token was presented again; its session was ended")
		return nil, ErrTokenReused
	case errors.Is(err, ErrTokenExpired):
		return nil, ErrTokenExpired
	case errors.Is(err, store.ErrConflict):
		// The user is no longer active: end the session, as Directus does.
		if derr := m.store.DeleteSessionByToken(ctx, old); derr != nil && !isNotFound(derr) {
			return nil, derr
		}
		return nil, ErrInvalidToken
	case errors.Is(err, ErrInvalidToken), isNotFound(err):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, err
	}
	return m.sessionAnswer(ctx, rec, u, next, false, now)
}

// renew answers a new access token for a session-cookie session.
func (m *Manager) renew(ctx context.Context, token string) (*Session, error) {
	c, err := m.parseAccess(token, true)
	if err != nil {
		return nil, err
	}
	if !c.SessionCookie {
		return nil, ErrInvalidToken
	}
	rec, u, err := m.liveSession(ctx, c)
	if err != nil {
		return nil, err
	}
	return m.sessionAnswer(ctx, rec, u, "", true, m.clock())
}

// sessionAnswer mints the access token of a refreshed session.
func (m *Manager) sessionAnswer(ctx context.Context, rec *store.Session, u *store.User, refresh string, cookie bool, now time.Time) (*Session, error) {
	admin, err := m.adminAccess(ctx, u)
	if err != nil {
		return nil, err
	}
	access, exp, err := m.mintAccess(u, rec.ID, admin, cookie, now)
	if err != nil {
		return nil, err
	}
	return &Session{
		ID: rec.ID, User: publicUser(u), AccessToken: access, AccessExpires: exp,
		RefreshToken: refresh, RefreshExpires: rec.ExpiresAt,
	}, nil
}

// liveSession reads the session an access token names and its user:
// ErrTokenExpired when the session lapsed, ErrInvalidToken when it ended
// or its user is gone or not active.
func (m *Manager) liveSession(ctx context.Context, c *accessClaims) (*store.Session, *store.User, error) {
	rec, err := m.store.GetSession(ctx, c.Session)
	if err != nil {
		return nil, nil, tokenError(err)
	}
	if rec.UserID != c.ID {
		return nil, nil, ErrInvalidToken
	}
	if !m.clock().Before(rec.ExpiresAt) {
		return nil, nil, ErrTokenExpired
	}
	u, err := m.store.GetUser(ctx, rec.UserID)
	if err != nil {
		return nil, nil, tokenError(err)
	}
	if u.Status != StatusActive {
		return nil, nil, ErrInvalidToken
	}
	return rec, u, nil
}

// Logout ends the session of a refresh token (a current or an already
// rotated one), or — for a session-cookie session — of its access token,
// expired or not. A token that names no session is not an error: logging
// out twice, or with garbage, does nothing and answers nil.
func (m *Manager) Logout(ctx context.Context, token string) error {
	var err error
	if looksLikeJWT(token) {
		var c *accessClaims
		if c, err = m.parseAccess(token, true); err != nil || !c.SessionCookie {
			return nil
		}
		err = m.store.DeleteSession(ctx, c.Session)
	} else {
		hash, ok := parseToken(token)
		if !ok {
			return nil
		}
		err = m.store.DeleteSessionByToken(ctx, hash)
	}
	if err != nil && !isNotFound(err) {
		return opErr("logout", err)
	}
	return nil
}

// EndSession ends a session by its id (Session.ID, Principal.SessionID):
// its tokens stop working at once. A session that does not exist (any
// more) is not an error.
func (m *Manager) EndSession(ctx context.Context, sessionID string) error {
	if err := m.store.DeleteSession(ctx, sessionID); err != nil && !isNotFound(err) {
		return opErr("end session", err)
	}
	return nil
}

// ResolveAccessToken returns who an access token speaks for. It checks
// the signature and the expiry (ErrTokenExpired), then that the session
// still exists and has not lapsed and that its user is still active
// (ErrInvalidCredentials otherwise: the client must log in again); a
// token that is not one of this Manager's access tokens is
// ErrInvalidToken. Admin access is read from the Store, not from the
// token's claims, so a role change takes effect at once.
func (m *Manager) ResolveAccessToken(ctx context.Context, token string) (*Principal, error) {
	p, err := m.resolve(ctx, token)
	if err != nil {
		return nil, opErr("resolve access token", err)
	}
	return p, nil
}

func (m *Manager) resolve(ctx context.Context, token string) (*Principal, error) {
	c, err := m.parseAccess(token, false)
	if err != nil {
		return nil, err
	}
	_, u, err := m.liveSession(ctx, c)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return nil, ErrInvalidCredentials
	case errors.Is(err, ErrTokenExpired):
		return nil, ErrInvalidCredentials // the session lapsed, not the token
	case err != nil:
		return nil, err
	}
	admin, err := m.adminAccess(ctx, u)
	if err != nil {
		return nil, err
	}
	return &Principal{User: publicUser(u), SessionID: c.Session, Admin: admin, ExpiresAt: c.ExpiresAt.Time.UTC()}, nil
}

// HasAdminAccess reports whether the user is active and its role, or one
// of its policies, has admin access. ErrUserNotFound for an unknown id.
func (m *Manager) HasAdminAccess(ctx context.Context, userID string) (bool, error) {
	u, err := m.store.GetUser(ctx, userID)
	if err != nil {
		return false, opErr("admin access", notFoundAs(err, ErrUserNotFound))
	}
	if u.Status != StatusActive {
		return false, nil
	}
	ok, err := m.adminAccess(ctx, u)
	if err != nil {
		return false, opErr("admin access", err)
	}
	return ok, nil
}

// adminAccess reports whether u's role or one of its policies has admin
// access. A role or policy that no longer exists grants nothing.
func (m *Manager) adminAccess(ctx context.Context, u *store.User) (bool, error) {
	if u.Role != nil {
		r, err := m.store.GetRole(ctx, *u.Role)
		switch {
		case err == nil && r.AdminAccess:
			return true, nil
		case err != nil && !isNotFound(err):
			return false, err
		}
	}
	for _, id := range u.Policies {
		p, err := m.store.GetPolicy(ctx, id)
		switch {
		case err == nil && p.AdminAccess:
			return true, nil
		case err != nil && !isNotFound(err):
			return false, err
		}
	}
	return false, nil
}

// purgeMargin is how long expired sessions and tokens are kept, so that
// an expired token is still told apart from an unknown one for a while.
const purgeMargin = 24 * time.Hour

// PurgeExpired deletes the sessions and tokens that expired more than a
// day ago and returns how many rows went. Run calls it once an hour; call
// it from a cron job if you do not run Run.
func (m *Manager) PurgeExpired(ctx context.Context) (int, error) {
	n, err := m.store.PurgeExpired(ctx, m.clock().Add(-purgeMargin))
	if err != nil {
		return n, opErr("purge expired", err)
	}
	return n, nil
}

// purgeIfDue runs PurgeExpired when an hour has passed since Run last did.
func (m *Manager) purgeIfDue(ctx context.Context) {
	now := time.Now().UnixNano()
	last := m.sess.lastPurge.Load()
	if last != 0 && time.Duration(now-last) < time.Hour || !m.sess.lastPurge.CompareAndSwap(last, now) {
		return
	}
	if _, err := m.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
		m.log.Error("users: purging expired sessions and tokens", "error", err)
	}
}

// SecretIsRandom reports whether the Manager signs with a secret it drew
// itself (no WithSecret): its tokens die with the process and no other
// instance accepts them. A host warns about it at start-up.
func (m *Manager) SecretIsRandom() bool { return m.sess.randomKey }

// SessionLifetimes returns the access-token and refresh lifetimes
// (WithSessionLifetimes).
func (m *Manager) SessionLifetimes() (access, refresh time.Duration) {
	return m.sess.accessTTL, m.sess.refreshTTL
}
