package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// Authenticate returns the user with this email and password, only if the
// user is active and has a password that matches, without opening a
// session (Login does). Every failure — unknown email, malformed input,
// wrong password, inactive user, no password — is ErrInvalidCredentials,
// and each takes the same time (see Login). It counts as an attempt from
// an unknown device without an IP: the per-address login limit
// (WithLoginLimiter) applies, and over it Authenticate returns a
// *RateLimitError matching ErrRateLimited without hashing. A successful
// login resets the address's count when the limiter is a
// ResettableLimiter, and rehashes a password stored at other parameters.
// Under load the hashing limit may answer ErrBusy (WithHashConcurrency).
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
	if emailProblem(email) != "" || password == "" || len(password) > maxPassBytes {
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
	ipKey := ""
	if in.IP != "" {
		ipKey = in.IP + " " + key
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
	ok, start, err := m.verifyTimed(ctx, password, stored)
	if err != nil && (ctx.Err() != nil || errors.Is(err, ErrBusy)) {
		return nil, "", err
	}
	if err != nil || !ok || u == nil || u.PasswordHash == "" || u.Status != StatusActive {
		m.sess.verifyCosts.pad(ctx, start)
		return nil, "", ErrInvalidCredentials
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
		event string // EventRateLimited's Limiter
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
		if c.l == nil {
			continue
		}
		if _, err := c.l.Allow(ctx, c.key); err != nil {
			if errors.Is(err, ErrRateLimited) {
				m.observe(Event{Kind: EventRateLimited, Limiter: c.event})
				return err
			}
			return fmt.Errorf("login limiter (%s): %w", c.who, err)
		}
	}
	return nil
}

// loginSucceeded forgets the counts of the keys a successful login used.
func (m *Manager) loginSucceeded(ctx context.Context, userID, key, ipKey, device string) {
	reset := func(l Limiter, k string) {
		if r, ok := l.(ResettableLimiter); ok && k != "" {
			if err := r.Reset(ctx, k); err != nil {
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

// verifyTimed verifies under the hashing limit, records how long the
// verification itself took for its parameter set, and returns when it
// started (for padding).
func (m *Manager) verifyTimed(ctx context.Context, pw, encoded string) (bool, time.Time, error) {
	sl, err := m.acquireHash(ctx)
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

// RehashChecker is implemented by a Hasher that can tell a stored hash
// made with other parameters than its own (Argon2id does). After a
// successful login the Manager hashes the password again with the current
// parameters when NeedsRehash says so.
type RehashChecker interface {
	NeedsRehash(encoded string) bool
}

// rehash stores a new hash of password for u when its stored one was
// made with other parameters, and returns u as stored afterwards. A
// failure leaves the old hash (which still verifies) and is logged.
func (m *Manager) rehash(ctx context.Context, u *store.User, password string) *store.User {
	rc, ok := m.hasher.(RehashChecker)
	if !ok || !rc.NeedsRehash(u.PasswordHash) {
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
