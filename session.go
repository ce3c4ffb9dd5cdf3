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

	"github.com/google/uuid"

	"github.com/gousers/users/internal/validate"
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
//     ACCESS_TOKEN_TTL (Lifetimes, default 15 minutes).
//   - a refresh token: 256 random bits, opaque, of which the Store keeps
//     only the SHA-256. Refresh trades it for a new pair and the old one
//     stops working (rotation); presenting an already-rotated refresh
//     token ends the whole session (reuse detection: a stolen token and
//     its legitimate holder cannot both go on). It lives
//     REFRESH_TOKEN_TTL (default 7 days) from the last refresh.
//
// A session-cookie session (LoginInput.SessionCookie) has no refresh
// token: its access token renews itself (Refresh), and is rotated the
// same way. The session counts its renewals; each token carries the
// count it was minted at, and a renewal retires it: the renewed token
// renews again only within Lifetimes.RenewalGrace (10 seconds by
// default) of that renewal (answering a
// token of the current count, so that requests a client sent at once
// with the same expired cookie do not sign it out), and after that
// presenting it ends the whole session. A token already minted still
// serves requests until its exp, as an access token does after its
// refresh token rotated.
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

// maxUserAgentBytes is how much of a client's User-Agent a session keeps.
const maxUserAgentBytes = 512

// LoginInput is a login attempt.
type LoginInput struct {
	Email    string
	Password string
	// IP is the client's address; it keys the per-IP login limit
	// (Limits.LoginIP) and is kept with the session. Empty: the
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
	// or not, while its session lasts; a renewal retires the token it
	// renewed (see "Sessions" above). Access tokens minted otherwise
	// cannot be used that way.
	SessionCookie bool
	// OTP is the second factor of a user who has one: a TOTP code, or
	// one of the user's recovery codes (see "Two-factor sign-in").
	OTP string
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
	Admin bool
	// TwoFactorSetupRequired reports that the user's role or one of its
	// policies enforces two-factor sign-in (EnforceTFA) and the user has
	// no second factor yet: until it has, the user may only set one up
	// (GenerateTwoFactorSecret, EnableTwoFactor), read its own user and
	// end its session. Package httpapi refuses everything else with
	// ErrTwoFactorRequired; an application serving its own routes should
	// do the same.
	TwoFactorSetupRequired bool
	ExpiresAt              time.Time // the access token's exp
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
// (Limits.Device; a cookie issued before the user's password last
// changed also against one count shared by every such cookie of the
// address); any other attempt counts against the client IP, whatever the
// address (Limits.LoginIPTotal), against the client IP and the address
// (Limits.LoginIP) and against the address (Limits.Login). So strangers
// guessing an address cannot lock its owner out of a device that logged
// in before. The password check waits for the hashing gate as the client
// (in.IP) it comes from, which shares the gate fairly with other clients;
// a device cookie issued under the current password goes ahead of
// strangers' calls there (see Limits.HashQueue), so a flood of attempts
// at unknown addresses does not shut out other clients, nor the owner's
// known devices. A successful login from an
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
// hashing; see Limits.FailedLoginMinimum for the first probe after a start.
// Successful logins are not padded.
//
// Under load the hashing limit may answer ErrBusy (Limits.HashConcurrency).
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
	if m.hooks.BeforeSignIn != nil {
		he := &Event{Flow: flowSignedIn, Action: actionOf(flowSignedIn), UserID: u.ID, Email: u.Email, Actor: u.ID, Time: m.clock()}
		if u.Role != nil {
			he.Role = *u.Role
		}
		if err := m.before(ctx, "BeforeSignIn", m.hooks.BeforeSignIn, he); err != nil {
			return nil, ErrInvalidCredentials
		}
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
	err = m.store.CreateSession(ctx, rec, store.Condition{Status: StatusActive, PasswordHash: &pw, EmailKey: &addr},
		m.events(m.event(ctx, flowSignedIn, u, u.ID, now))...)
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
	access, exp, err := m.mintAccess(u, rec.ID, admin, in.SessionCookie, rec.Generation, now)
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

// Authenticate returns the user with this email and password, only if the
// user is active and has a password that matches, without opening a
// session (Login does). Every failure — unknown email, malformed input,
// wrong password, inactive user, no password — is ErrInvalidCredentials,
// and each takes the same time (see Login). It counts as an attempt from
// an unknown device without an IP: the per-address login limit
// (Limits.Login) applies, and over it Authenticate returns a
// *RateLimitError matching ErrRateLimited without hashing. A successful
// login resets the address's count, and rehashes a password stored at
// other parameters. Under load the hashing limit may answer ErrBusy
// (Limits.HashConcurrency).
func (m *Manager) Authenticate(ctx context.Context, email, password string) (*User, error) {
	u, _, err := m.checkCredentials(ctx, LoginInput{Email: email, Password: password})
	m.observeFlow(FlowLogin, OutcomeAuthenticated, err)
	if err != nil {
		return nil, opErr("authenticate", err)
	}
	return publicUser(u), nil
}

// checkCredentials is the password check of Login and Authenticate: the
// limits, the lookup, the verification (padded when it fails), and the
// rehash. It returns the user as stored afterwards and the address's key.
func (m *Manager) checkCredentials(ctx context.Context, in LoginInput) (*store.User, string, error) {
	email, password := strings.TrimSpace(in.Email), in.Password
	if validate.Email(email) != "" || password == "" || len(password) > maxPassBytes {
		// Malformed input cannot name a user; the cost here differs from a
		// real check, but it reveals nothing about any account.
		return nil, "", ErrInvalidCredentials
	}
	key := NormalizeEmail(email)
	if err := ctx.Err(); err != nil {
		return nil, "", err // not an attempt: count nothing
	}
	dev := m.deviceFor(in.Device, key, m.clock())
	device := ""
	if dev != nil {
		device = dev.id
	}
	ipKey, client := "", ticketOf(ctx).client
	if in.IP != "" {
		ipKey = in.IP + " " + key
		client = gateClientOf(in.IP)
	}
	if device == "" && in.IP != "" {
		// Unknown devices' attempts from one client, whatever the address.
		if err := m.allowLoginBy(ctx, m.sess.ipAllLimit, client, "IP total", "login_ip_total"); err != nil {
			return nil, "", err
		}
	}
	if err := m.allowLogin(ctx, key, ipKey, device); err != nil {
		return nil, "", err // allowLogin reported a refusal to the observer
	}
	u, err := m.store.GetUserByEmailKey(ctx, key)
	if err != nil && !isNotFound(err) {
		return nil, "", err
	}
	if dev != nil && !m.current(dev, key, u) {
		// Issued under an older password (or to a user since gone). The
		// device stays known — strangers' guesses do not lock it out — but
		// every such cookie of the address shares one count as well, so
		// that cookies collected with an old password do not each bring a
		// budget of their own. Only whoever logged in to this address
		// before gets here, so a refusal after the lookup tells them
		// nothing new.
		if err := m.allowLogin(ctx, key, ipKey, staleDevices(key)); err != nil {
			return nil, "", err
		}
	}
	stored := m.dummyHash
	if u != nil && u.PasswordHash != "" {
		stored = u.PasswordHash
	}
	// A device cookie issued under the password stored now has the gate's
	// lane for known devices; an unknown address never has one.
	tk := gateTicket{client: client, known: dev != nil && m.current(dev, key, u)}
	ok, start, err := m.verifyTimed(ctx, password, stored, tk)
	if err != nil && (ctx.Err() != nil || errors.Is(err, ErrBusy)) {
		return nil, "", err
	}
	if err != nil || !ok || u == nil || u.PasswordHash == "" || u.Status != StatusActive {
		m.sess.verifyCosts.pad(ctx, start)
		return nil, "", ErrInvalidCredentials
	}
	if u.TwoFactor {
		// The code is asked only after the password, as Directus does: a
		// wrong code counts against the address's limits (its attempt is
		// not reset) and against the user's code limit.
		if err := m.checkSecondFactor(ctx, u, in.OTP); err != nil {
			return nil, "", err
		}
	}
	m.loginSucceeded(ctx, u.ID, key, ipKey, device)
	return m.rehash(ctx, u, password), key, nil
}

// allowLogin asks the limits that apply to an attempt: the device's when
// it presents a device cookie of this address, else the IP's (when known)
// and the address's.
func (m *Manager) allowLogin(ctx context.Context, key, ipKey, device string) error {
	type check struct {
		l     Limiter
		key   string
		who   string
		event string // KindRateLimited's Limiter
	}
	var checks []check
	if device != "" {
		checks = []check{{m.sess.deviceLimit, device, "device", "login_device"}}
	} else {
		if ipKey != "" {
			checks = append(checks, check{m.sess.ipLimit, ipKey, "IP", "login_ip"})
		}
		checks = append(checks, check{m.authLimit, key, "address", "login"})
	}
	for _, c := range checks {
		if err := m.allowLoginBy(ctx, c.l, c.key, c.who, c.event); err != nil {
			return err
		}
	}
	return nil
}

// allowLoginBy asks one login limiter (none when l is nil), reporting a
// refusal to the observer as event.
func (m *Manager) allowLoginBy(ctx context.Context, l Limiter, key, who, event string) error {
	if l == nil {
		return nil
	}
	if _, err := l.Allow(ctx, key); err != nil {
		if errors.Is(err, ErrRateLimited) {
			m.observe(Observation{Kind: KindRateLimited, Limiter: event})
			return err
		}
		return fmt.Errorf("login limiter (%s): %w", who, err)
	}
	return nil
}

// loginSucceeded forgets the counts of the keys a successful login used.
func (m *Manager) loginSucceeded(ctx context.Context, userID, key, ipKey, device string) {
	reset := func(l Limiter, k string) {
		if l != nil && k != "" {
			if err := l.Reset(ctx, k); err != nil {
				// The login stands; the key merely keeps its count.
				m.log.WarnContext(ctx, "users: login limiter reset failed", "user_id", userID, "error", err)
			}
		}
	}
	if device != "" {
		// A known device's success says nothing about the strangers
		// counted against the address: their lock stays.
		reset(m.sess.deviceLimit, device)
		return
	}
	reset(m.authLimit, key)
	reset(m.sess.ipLimit, ipKey)
}

// verifyTimed verifies under the hashing limit, as the call tk describes,
// records how long the verification itself took for its parameter set,
// and returns when it started (for padding).
func (m *Manager) verifyTimed(ctx context.Context, pw, encoded string, tk gateTicket) (bool, time.Time, error) {
	sl, err := m.acquireHashAs(ctx, tk)
	if err != nil {
		return false, time.Now(), err
	}
	start := time.Now()
	ok, err := m.hasher.Verify(pw, encoded)
	d := time.Since(start)
	m.hashGate.observe(d)
	sl.release()
	if err == nil {
		m.sess.verifyCosts.add(paramSet(encoded), d)
	}
	return ok, start, err
}

// rehash stores a new hash of password for u when its stored one was
// made with other parameters, and returns u as stored afterwards. A
// failure leaves the old hash (which still verifies) and is logged.
func (m *Manager) rehash(ctx context.Context, u *store.User, password string) *store.User {
	if !m.hasher.NeedsRehash(u.PasswordHash) {
		return u
	}
	hash, err := m.hash(ctx, password)
	if err != nil {
		m.log.WarnContext(ctx, "users: rehash after login failed", "user_id", u.ID, "error", err)
		return u
	}
	old := u.PasswordHash
	// UpdatedAt stays: a rehash is not a change anyone made.
	after, err := m.store.UpdateUser(ctx, u.ID, store.Condition{PasswordHash: &old},
		store.UserChange{PasswordHash: &hash, UpdatedAt: u.UpdatedAt}, store.Effects{})
	if err != nil {
		if !errors.Is(err, store.ErrConflict) { // else the password changed meanwhile
			m.log.WarnContext(ctx, "users: rehash after login failed", "user_id", u.ID, "error", err)
		}
		return u
	}
	return after
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
// its end, RefreshExpires). The token presented is retired: presented
// again within Lifetimes.RenewalGrace (10 seconds by default) it answers a token like the one just minted
// (concurrent requests of one client), later it is ErrTokenReused and its
// whole session is ended.
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

// renew answers a new access token for a session-cookie session, and
// retires the token's generation (store.Sessions.RenewSession): a copy of
// a renewed token that comes back after Lifetimes.RenewalGrace ends the
// session, as a rotated refresh token does.
func (m *Manager) renew(ctx context.Context, token string) (*Session, error) {
	c, err := m.parseAccess(token, true)
	if err != nil {
		return nil, err
	}
	if !c.SessionCookie {
		return nil, ErrInvalidToken
	}
	now := m.clock()
	rec, u, err := m.store.RenewSession(ctx, c.Session, c.Generation, now, m.lifetimes.RenewalGrace, store.Condition{Status: StatusActive})
	switch {
	case errors.Is(err, ErrTokenReused):
		m.log.WarnContext(ctx, "users: a renewed session-cookie token was presented again; its session was ended", "user_id", c.ID)
		return nil, ErrTokenReused
	case errors.Is(err, ErrTokenExpired):
		return nil, ErrTokenExpired
	case errors.Is(err, store.ErrConflict):
		// The user is no longer active: end the session, as Refresh does.
		if derr := m.store.DeleteSession(ctx, c.Session); derr != nil && !isNotFound(derr) {
			return nil, derr
		}
		return nil, ErrInvalidToken
	case isNotFound(err):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, err
	case rec.UserID != c.ID:
		return nil, ErrInvalidToken
	}
	return m.sessionAnswer(ctx, rec, u, "", true, now)
}

// sessionAnswer mints the access token of a refreshed session. Neither
// RotateSession nor RenewSession answers the user's grants, so admin
// access is read here for the token's claim.
func (m *Manager) sessionAnswer(ctx context.Context, rec *store.Session, u *store.User, refresh string, cookie bool, now time.Time) (*Session, error) {
	admin, err := m.adminAccess(ctx, u)
	if err != nil {
		return nil, err
	}
	access, exp, err := m.mintAccess(u, rec.ID, admin, cookie, rec.Generation, now)
	if err != nil {
		return nil, err
	}
	return &Session{
		ID: rec.ID, User: publicUser(u), AccessToken: access, AccessExpires: exp,
		RefreshToken: refresh, RefreshExpires: rec.ExpiresAt,
	}, nil
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
		err = m.store.DeleteSession(ctx, c.Session, m.events(m.event(ctx, flowSignedOut, nil, "", m.clock()))...)
	} else {
		hash, ok := parseToken(token)
		if !ok {
			return nil
		}
		err = m.store.DeleteSessionByToken(ctx, hash, m.events(m.event(ctx, flowSignedOut, nil, "", m.clock()))...)
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
// token's claims, so a role change takes effect at once. The session, the
// user, its admin access and whether its role or a policy enforces
// two-factor sign-in are one Store call (store.Sessions.ResolveSession).
// The Manager remembers the last few thousand tokens whose signature it
// checked, so a client's every request does not pay for it again; their
// expiry, session and user are checked every time.
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
	// One read: the session, its user and the user's grants.
	rec, u, g, err := m.store.ResolveSession(ctx, c.Session)
	switch {
	case isNotFound(err):
		return nil, ErrInvalidCredentials // the session ended
	case err != nil:
		return nil, err
	case rec.UserID != c.ID || u.Status != StatusActive:
		return nil, ErrInvalidCredentials
	case !m.clock().Before(rec.ExpiresAt):
		return nil, ErrInvalidCredentials // the session lapsed, not the token
	}
	return &Principal{
		User: publicUser(u), SessionID: c.Session, Admin: g.AdminAccess, ExpiresAt: c.ExpiresAt.Time.UTC(),
		TwoFactorSetupRequired: g.EnforceTFA && !u.TwoFactor,
	}, nil
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
// access. A role or policy that no longer exists grants nothing. (A
// session's resolution reads this with the session: store.Grants.)
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
	if _, err := m.PruneActivity(ctx); err != nil && ctx.Err() == nil {
		m.log.Error("users: pruning the activity log", "error", err)
	}
}

// Lifetimes returns the lifetimes of tokens and sessions in effect (the
// Lifetimes option over the defaults).
func (m *Manager) Lifetimes() Lifetimes { return m.lifetimes }

// sessionState is the Manager's session machinery.
type sessionState struct {
	key         []byte // HS256 key
	deviceKey   []byte // HMAC key of device cookies, derived from key
	accessTTL   time.Duration
	refreshTTL  time.Duration
	reset       *allowList
	ipLimit     Limiter // nil: no limit
	ipAllLimit  Limiter // nil: no limit
	deviceLimit Limiter // nil: no limit
	verifyCosts *verifyCosts
	randomKey   bool
	tokenKey    []byte       // mailed tokens' tag key; nil under a random secret
	lastPurge   atomic.Int64 // UnixNano of Run's last purge
	verified    verifiedTokens
}

func newSessionState(c *config) (*sessionState, error) {
	reset, _ := newAllowList(c.links.PasswordResetURLs...) // checked
	st := &sessionState{
		key:         c.secret,
		accessTTL:   c.lifetimes.Access,
		refreshTTL:  c.lifetimes.Refresh,
		reset:       reset,
		ipLimit:     c.limits.LoginIP,
		ipAllLimit:  c.limits.LoginIPTotal,
		deviceLimit: c.limits.Device,
		verifyCosts: newVerifyCosts(c.limits.FailedLoginMinimum),
	}
	if st.key == nil {
		st.key = make([]byte, MinSecretBytes)
		if _, err := rand.Read(st.key); err != nil {
			return nil, fmt.Errorf("users: drawing a secret: %w", err)
		}
		st.randomKey = true
	}
	st.deviceKey = deriveKey(st.key, "users device cookie v1")
	if !st.randomKey {
		// A random secret dies with the process; mailed links must not.
		st.tokenKey = deriveKey(st.key, "users mailed token v1")
	}
	return st, nil
}

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
