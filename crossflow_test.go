package users_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// Attacks that cross flows: what one flow leaves behind (a mailed link, a
// device cookie, a session) must not outlive the change that should have
// ended it.

// A password-reset link is a way to set the password: a new password,
// however it is set, revokes the links mailed before it (Directus binds
// its reset tokens to the password hash for the same reason). Otherwise
// whoever got hold of a link — a forwarded mail, a shared screen — sets
// the password again after its owner changed it to lock them out.
func TestPasswordChangeRevokesResetLinks(t *testing.T) {
	t.Parallel()
	newPass := "the-owners-new-password"
	for name, change := range map[string]func(e *env, u *users.User){
		"change password": func(e *env, u *users.User) {
			_, err := e.m.ChangePassword(e.ctx, u.ID, ownerPass, newPass)
			require.NoError(t, err)
		},
		"admin sets password": func(e *env, u *users.User) {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Password: &newPass})
			require.NoError(t, err)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.owner(nil)
			require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
			leaked := resetToken(t, e.onlyMail(ownerEmail))

			change(e, u)
			_, err := e.m.ResetPassword(e.ctx, leaked, "the-attackers-password")
			assert.ErrorIs(t, err, users.ErrInvalidToken)
			_, err = e.m.Authenticate(e.ctx, ownerEmail, newPass)
			assert.NoError(t, err, "the owner's password stands")

			// A link asked for after the change works.
			require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
			_, err = e.m.ResetPassword(e.ctx, resetToken(t, e.onlyMail(ownerEmail)), "yet-another-password")
			assert.NoError(t, err)
		})
	}

	// A rehash on login is not a change of password: the link stays good.
	t.Run("rehash", func(t *testing.T) {
		t.Parallel()
		current := &users.Argon2id{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
		legacy := &users.Argon2id{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
		e := newEnv(t, users.WithHasher(current))
		u := e.owner(nil)
		old, err := legacy.Hash(ownerPass)
		require.NoError(t, err)
		_, err = e.store.UpdateUser(e.ctx, u.ID, store.Condition{}, store.UserChange{PasswordHash: &old, UpdatedAt: u.UpdatedAt}, store.Effects{})
		require.NoError(t, err)
		require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
		tok := resetToken(t, e.onlyMail(ownerEmail))
		before := e.userByEmail(ownerEmail).PasswordHash
		e.login(ownerEmail, ownerPass)
		require.NotEqual(t, before, e.userByEmail(ownerEmail).PasswordHash, "rehashed")
		_, err = e.m.ResetPassword(e.ctx, tok, "brand-new-password")
		assert.NoError(t, err)
	})
}

// A device cookie says "this device logged in with the password". Whoever
// knew an old password (the reason the owner reset it) could have logged
// in many times beforehand and kept a device cookie from each: after the
// reset every one of them would be a known device with a guessing budget
// of its own, beside the address's lock that holds strangers to 10
// guesses per 15 minutes. Cookies issued under an older password share one
// device's budget.
func TestStaleDeviceCookiesShareOneBudget(t *testing.T) {
	t.Parallel()
	const stolen = 30
	newPass := "the-owners-new-password"
	for name, change := range map[string]func(e *env, u *users.User){
		"password reset": func(e *env, _ *users.User) {
			require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
			_, err := e.m.ResetPassword(e.ctx, resetToken(t, e.onlyMail(ownerEmail)), newPass)
			require.NoError(t, err)
		},
		"change password": func(e *env, u *users.User) {
			_, err := e.m.ChangePassword(e.ctx, u.ID, ownerPass, newPass)
			require.NoError(t, err)
		},
		"admin sets password": func(e *env, u *users.User) {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Password: &newPass})
			require.NoError(t, err)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.owner(nil)
			cookies := make([]string, stolen)
			for i := range cookies {
				cookies[i] = e.login(ownerEmail, ownerPass).Device
			}
			// The cookies work as known devices while the password stands.
			_, err := e.try(ownerEmail, "wrong", "203.0.113.1", cookies[0])
			require.ErrorIs(t, err, users.ErrInvalidCredentials)

			change(e, u)
			var guesses int
			for _, c := range cookies {
				_, err := e.try(ownerEmail, "guess", "203.0.113.1", c)
				if isRateLimited(err) {
					continue
				}
				require.ErrorIs(t, err, users.ErrInvalidCredentials)
				guesses++
			}
			assert.LessOrEqual(t, guesses, 10, "30 old cookies get one device's guesses")

			// The owner logs in with the new password, and the cookie that
			// login issues is a known device again.
			e.clock.Advance(15 * time.Minute)
			s, err := e.try(ownerEmail, newPass, "198.51.100.1", "")
			require.NoError(t, err)
			for i := range 10 {
				_, err := e.try(ownerEmail, "wrong", fmt.Sprintf("203.0.113.%d", 10+i), "")
				require.ErrorIs(t, err, users.ErrInvalidCredentials)
			}
			_, err = e.try(ownerEmail, newPass, "198.51.100.1", s.Device)
			require.NoError(t, err, "the new cookie gets past the strangers' lock")
		})
	}
}

// lookupCount is a Store that counts lookups by address.
type lookupCount struct {
	store.Store
	n int
}

func (s *lookupCount) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	s.n++
	return s.Store.GetUserByEmailKey(ctx, key)
}

// A refused attempt is refused before the user is looked up, so that its
// time cannot tell an account from none however often it is repeated —
// for unknown devices and for known ones alike.
func TestLoginLimitsAnswerBeforeTheLookup(t *testing.T) {
	t.Parallel()
	st := &lookupCount{Store: memstore.New()}
	e := newEnvOn(t, st)
	e.owner(nil)
	dev := e.login(ownerEmail, ownerPass).Device
	for _, addr := range []string{ownerEmail, "nobody@example.com"} {
		for i := range 10 {
			_, err := e.try(addr, "wrong", fmt.Sprintf("203.0.113.%d", i), "")
			require.ErrorIs(t, err, users.ErrInvalidCredentials)
		}
	}
	for range 10 {
		_, err := e.try(ownerEmail, "wrong", "203.0.113.99", dev)
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	before := st.n
	for _, try := range []struct{ addr, dev string }{{ownerEmail, ""}, {"nobody@example.com", ""}, {ownerEmail, dev}} {
		_, err := e.try(try.addr, "wrong", "198.51.100.1", try.dev)
		require.True(t, isRateLimited(err), "%v", err)
	}
	assert.Equal(t, before, st.n, "no lookup for a refused attempt")
}

// The other side of the same change: strangers guessing after a password
// reset (the owner reset it because of them) do not lock the owner out of
// a device that logged in before it.
func TestOwnersDevicesOutliveTheirPasswordReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.owner(nil)
	laptop := e.login(ownerEmail, ownerPass).Device
	phone := e.login(ownerEmail, ownerPass).Device
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
	newPass := "the-owners-new-password"
	_, err := e.m.ResetPassword(e.ctx, resetToken(t, e.onlyMail(ownerEmail)), newPass)
	require.NoError(t, err)

	for i := range 1000 {
		_, err := e.try(ownerEmail, fmt.Sprintf("guess-%d", i), fmt.Sprintf("203.0.113.%d", i%20), "")
		require.Error(t, err)
	}
	_, err = e.try(ownerEmail, newPass, "198.51.100.1", "")
	require.True(t, isRateLimited(err), "the strangers locked the address: %v", err)
	for name, dev := range map[string]string{"laptop": laptop, "phone": phone} {
		s, err := e.try(ownerEmail, newPass, "198.51.100.1", dev)
		require.NoError(t, err, name)
		assert.NotEmpty(t, s.Device)
	}
}

// beforeSession is a Store that runs a hook once, just before the next
// CreateSession: a change committed by another request while a login was
// checking the password.
type beforeSession struct {
	store.Store
	hook func()
}

func (s *beforeSession) CreateSession(ctx context.Context, rec *store.Session, cond store.Condition, events ...*store.Event) error {
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
	return s.Store.CreateSession(ctx, rec, cond, events...)
}

// An email change ends the user's sessions, and so does it end a login
// still under way: one that checked the password at the old address
// before the change and opens its session after it.
func TestEmailChangeDuringLoginOpensNoSession(t *testing.T) {
	t.Parallel()
	st := &beforeSession{Store: memstore.New()}
	e := newEnvOn(t, st)
	u := e.owner(nil)
	moved := "moved@example.com"
	st.hook = func() {
		_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Email: &moved})
		require.NoError(t, err)
	}
	_, err := e.m.Login(e.ctx, users.LoginInput{Email: ownerEmail, Password: ownerPass})
	assert.ErrorIs(t, err, users.ErrInvalidCredentials)
	assert.Nil(t, st.hook, "the change ran")
	// The new address logs in as usual.
	e.login(moved, ownerPass)
}

// A password policy is checked under the hashing limit on every flow that
// sets a password, as Register's is: a policy that backtracks costs CPU,
// and a logged-in user (PATCH /users/me) or the holder of a reset link
// (whose token a refused password does not use up) could otherwise repeat
// the check without bound while every hashing slot is taken.
func TestPasswordChangesCheckThePolicyUnderTheHashingLimit(t *testing.T) {
	t.Parallel()
	h := &holdHasher{entered: make(chan struct{})}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 0 }))
	p, err := users.ParsePasswordPolicy(users.PasswordPolicyMinLength)
	require.NoError(t, err)
	e.open(func(s *users.Settings) { s.PasswordPolicy = p })
	u := e.owner(nil)
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, ownerEmail, ""))
	tok := resetToken(t, e.onlyMail(ownerEmail))

	release := make(chan struct{})
	var once sync.Once
	unhold := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unhold)
	h.hold.Store(&release)
	done := make(chan error, 1)
	go func() {
		_, err := e.m.Authenticate(e.ctx, ownerEmail, ownerPass)
		done <- err
	}()
	testenv.Receive(t, h.entered, testenv.WaitLimit, "the login never reached the hasher")

	err = refusedAtOnce(t, "ChangePassword", func() error {
		_, err := e.m.ChangePassword(e.ctx, u.ID, ownerPass, "short")
		return err
	})
	assert.ErrorIs(t, err, users.ErrBusy)
	err = refusedAtOnce(t, "ResetPassword", func() error {
		_, err := e.m.ResetPassword(e.ctx, tok, "short")
		return err
	})
	assert.ErrorIs(t, err, users.ErrBusy)

	unhold()
	require.NoError(t, testenv.Receive(t, done, testenv.WaitLimit, "the login did not finish once the hasher was released"))
	h.hold.Store(nil)
	_, err = e.m.ChangePassword(e.ctx, u.ID, ownerPass, "short")
	requireField(t, err, "password", users.ErrPasswordPolicy)
	_, err = e.m.ResetPassword(e.ctx, tok, "short")
	requireField(t, err, "password", users.ErrPasswordPolicy)
	_, err = e.m.ResetPassword(e.ctx, tok, "long enough")
	assert.NoError(t, err, "a refused password leaves the link good")
}
