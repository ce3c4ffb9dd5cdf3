package users_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

func (e *env) try(email, pw, ip, device string) (*users.Session, error) {
	return e.m.Login(e.ctx, users.LoginInput{Email: email, Password: pw, IP: ip, Device: device})
}

// After 1,000 wrong guesses from 20 addresses, the owner on a device that
// logged in before gets in at once; a password reset lets the owner in
// from a new device too. The account is never suspended.
func TestStrangersCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	laptop := e.login(ownerEmail, ownerPass).Device
	require.NotEmpty(t, laptop)

	var limited, refused int
	for i := range 1000 {
		ip := fmt.Sprintf("203.0.113.%d", i%20)
		_, err := e.try(ownerEmail, fmt.Sprintf("guess-%d", i), ip, "")
		switch {
		case err == nil:
			t.Fatal("a guess got in")
		case isRateLimited(err):
			limited++
		default:
			require.ErrorIs(t, err, users.ErrInvalidCredentials)
			refused++
		}
		if i%100 == 99 {
			e.clock.Advance(time.Minute)
		}
	}
	// Guesses at the address stay bounded: 10 per 15 minutes in total
	// for unknown devices, whatever the number of IPs.
	assert.LessOrEqual(t, refused, 10)
	assert.Equal(t, 1000, limited+refused)

	// The owner's laptop gets in at once, during the attack.
	s, err := e.try(ownerEmail, ownerPass, "203.0.113.5", laptop)
	require.NoError(t, err)
	assert.NotEqual(t, laptop, s.Device, "a new device cookie each login")
	laptop = s.Device

	// A new phone is an unknown device: locked out with the strangers.
	_, err = e.try(ownerEmail, ownerPass, "198.51.100.1", "")
	require.True(t, isRateLimited(err), "%v", err)

	// Never suspended.
	got, err := e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, got.Status)

	// A reset clears the address's lock: the phone gets in.
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
	_, err = e.m.ResetPassword(e.ctx, resetToken(t, e.onlyMail(ownerEmail)), "after-the-attack")
	require.NoError(t, err)
	_, err = e.try(ownerEmail, "after-the-attack", "198.51.100.1", "")
	require.NoError(t, err)
}

func isRateLimited(err error) bool { return errors.Is(err, users.ErrRateLimited) }

// Without a Limits option the Manager makes its own, with DefaultLimits'
// values (5 failures per IP and address in 15 minutes) and its memory
// limiters on the Manager's clock (WithClock). The other tests pass
// Limits of their own (see limits), so this one covers the defaults.
func TestDefaultLimitersRunOnTheManagersClock(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	m, err := users.New(memstore.New(), memmailer.New(), users.WithHasher(userstest.Hasher{}), users.WithClock(clock.Now))
	require.NoError(t, err)
	ctx := context.Background()
	_, err = m.CreateUser(ctx, users.CreateUserInput{Email: ownerEmail, Password: ownerPass})
	require.NoError(t, err)
	login := func(pw string) error {
		_, err := m.Login(ctx, users.LoginInput{Email: ownerEmail, Password: pw, IP: "192.0.2.1"})
		return err
	}
	for range 5 {
		require.ErrorIs(t, login("wrong"), users.ErrInvalidCredentials)
	}
	require.ErrorIs(t, login(ownerPass), users.ErrRateLimited, "5 per IP and address")
	clock.Advance(14 * time.Minute)
	require.ErrorIs(t, login(ownerPass), users.ErrRateLimited, "still within the window")
	clock.Advance(time.Minute)
	require.NoError(t, login(ownerPass), "the window passed on the Manager's clock")
}

func TestLoginLimitPerIPAndAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	for range 5 {
		_, err := e.try(ownerEmail, "wrong", "192.0.2.1", "")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	_, err := e.try(ownerEmail, ownerPass, "192.0.2.1", "")
	require.ErrorIs(t, err, users.ErrRateLimited, "5 per IP and address")
	var rl *users.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 5, rl.Limit)

	// The same IP, another address: its own count.
	_, err = e.try("someone-else@example.com", "wrong", "192.0.2.1", "")
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	// Another IP, the same address: allowed until the address's total.
	for range 5 {
		_, err = e.try(ownerEmail, "wrong", "192.0.2.2", "")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	_, err = e.try(ownerEmail, ownerPass, "192.0.2.3", "")
	require.ErrorIs(t, err, users.ErrRateLimited, "10 per address")

	// A success resets the counts it used.
	e.clock.Advance(15 * time.Minute)
	_, err = e.try(ownerEmail, ownerPass, "192.0.2.1", "")
	require.NoError(t, err)
	for range 5 {
		_, err = e.try(ownerEmail, "wrong", "192.0.2.1", "")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
}

func TestDeviceLimitAndCookieChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "other@example.com", Password: ownerPass})
	require.NoError(t, err)
	dev := e.login(ownerEmail, ownerPass).Device
	otherDev := e.login("other@example.com", ownerPass).Device

	// Someone holding the owner's device cookie gets 10 guesses per 15
	// minutes, then that device is limited too.
	for range 10 {
		_, err := e.try(ownerEmail, "wrong", "192.0.2.9", dev)
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	_, err = e.try(ownerEmail, ownerPass, "192.0.2.9", dev)
	require.ErrorIs(t, err, users.ErrRateLimited)
	// The device's guesses did not touch the address's unknown-device count.
	_, err = e.try(ownerEmail, ownerPass, "192.0.2.10", "")
	require.NoError(t, err)

	// A cookie counts only for the address it was issued to, only signed
	// by this Manager's secret, only within its lifetime.
	for name, cookie := range map[string]string{
		"another address's": otherDev,
		"tampered":          dev[:len(dev)-2] + "AA",
		"garbage":           "not-a-cookie",
		"oversized":         strings.Repeat("A", 500) + "." + "B",
	} {
		for range 5 {
			_, err := e.try(ownerEmail, "wrong", "192.0.2.20", cookie)
			require.ErrorIs(t, err, users.ErrInvalidCredentials, name)
		}
		_, err := e.try(ownerEmail, "wrong", "192.0.2.20", cookie)
		require.ErrorIs(t, err, users.ErrRateLimited, "%s: counted as an unknown device", name)
		e.clock.Advance(15 * time.Minute)
	}
	fresh := e.login(ownerEmail, ownerPass).Device
	e.clock.Advance(users.DeviceCookieLifetime + time.Hour)
	for range 5 {
		_, err := e.try(ownerEmail, "wrong", "192.0.2.21", fresh)
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	_, err = e.try(ownerEmail, "wrong", "192.0.2.21", fresh)
	require.ErrorIs(t, err, users.ErrRateLimited, "an expired device cookie is an unknown device")
}

func TestLoginLimitsAreOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		limits(func(l *users.Limits) {
			l.LoginIP = &users.MemoryLimiter{Points: 2, Window: time.Hour}
			l.Login = nil
			l.Device = &users.MemoryLimiter{Points: 1, Window: time.Hour}
		}))
	e.owner(nil)
	for range 2 {
		_, err := e.try(ownerEmail, "wrong", "192.0.2.1", "")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	_, err := e.try(ownerEmail, "wrong", "192.0.2.1", "")
	require.ErrorIs(t, err, users.ErrRateLimited)
	// No per-address limit: other IPs go on.
	for i := range 20 {
		_, err := e.try(ownerEmail, "wrong", fmt.Sprintf("192.0.2.%d", 100+i), "")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	s, err := e.try(ownerEmail, ownerPass, "192.0.2.250", "")
	require.NoError(t, err)
	dev := s.Device
	_, err = e.try(ownerEmail, "wrong", "", dev)
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.try(ownerEmail, "wrong", "", dev)
	require.ErrorIs(t, err, users.ErrRateLimited)
}

// A user imported at other argon2 parameters is rehashed at the Manager's
// on a successful login, and only then.
func TestRehashOnLogin(t *testing.T) {
	t.Parallel()
	current := &users.Argon2id{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	legacy := &users.Argon2id{Memory: 128, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}
	e := newEnv(t, users.WithHasher(current))
	old, err := legacy.Hash(ownerPass)
	require.NoError(t, err)
	u := e.owner(nil)
	_, err = e.store.UpdateUser(e.ctx, u.ID, store.Condition{}, store.UserChange{PasswordHash: &old, UpdatedAt: u.UpdatedAt}, store.Effects{})
	require.NoError(t, err)
	assert.True(t, current.NeedsRehash(old))

	_, err = e.m.Authenticate(e.ctx, ownerEmail, "wrong")
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	assert.Equal(t, old, e.userByEmail(ownerEmail).PasswordHash, "a failed login changes nothing")

	s := e.login(ownerEmail, ownerPass)
	rec := e.userByEmail(ownerEmail)
	assert.NotEqual(t, old, rec.PasswordHash)
	assert.True(t, strings.HasPrefix(rec.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$"), rec.PasswordHash)
	assert.False(t, current.NeedsRehash(rec.PasswordHash))
	assert.Equal(t, u.UpdatedAt, rec.UpdatedAt, "a rehash is not an edit")
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err, "the session opened on the new hash")
	e.login(ownerEmail, ownerPass)
	assert.Equal(t, rec.PasswordHash, e.userByEmail(ownerEmail).PasswordHash, "no second rehash")
}
