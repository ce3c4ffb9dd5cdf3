package users_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// faultStore wraps a Store and, once armed, breaks its k-th call: either
// the call fails with errInjected without reaching the store, or the
// caller's context is cancelled just before the call is passed on (a
// client that hangs up mid-operation).
type faultStore struct {
	store.Store
	mu     sync.Mutex
	armed  bool
	k      int // 1-based index of the call to break
	n      int // calls since armed
	cancel context.CancelFunc
	hit    bool
}

var errInjected = errors.New("injected store failure")

func (f *faultStore) arm(k int, cancel context.CancelFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.k, f.n, f.cancel, f.hit = true, k, 0, cancel, false
}

func (f *faultStore) disarm() (hit bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	return f.hit
}

// fault is called first by every method.
func (f *faultStore) fault() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	f.n++
	if f.n != f.k {
		return nil
	}
	f.hit = true
	if f.cancel != nil {
		f.cancel()
		return nil // the store itself sees the cancelled context
	}
	return errInjected
}

func (f *faultStore) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Store.CreateUser(ctx, u, fx)
}

func (f *faultStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.GetUser(ctx, id)
}

func (f *faultStore) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.GetUserByEmailKey(ctx, key)
}

func (f *faultStore) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.UpdateUser(ctx, id, cond, ch, fx)
}

func (f *faultStore) ConsumeToken(ctx context.Context, hash []byte, p store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.ConsumeToken(ctx, hash, p, now, cond, ch, fx)
}

func (f *faultStore) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.GetToken(ctx, hash)
}

func (f *faultStore) GetRole(ctx context.Context, id string) (*users.Role, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.GetRole(ctx, id)
}

func (f *faultStore) Settings(ctx context.Context) ([]byte, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Store.Settings(ctx)
}

// state is everything a flow may write, as text: users (with hashes and
// statuses) and the outbox (with bodies, so new tokens show).
func state(t *testing.T, s store.Store) string {
	t.Helper()
	ctx := context.Background()
	us, err := s.ListUsers(ctx, store.UserQuery{})
	require.NoError(t, err)
	ms, err := s.ListMail(ctx, store.MailQuery{})
	require.NoError(t, err)
	out := ""
	for _, u := range us {
		role := "<nil>"
		if u.Role != nil {
			role = *u.Role
		}
		out += fmt.Sprintf("user %s %q %s role=%s policies=%v contested=%v hash=%q\n", u.ID, u.Email, u.Status, role, u.Policies, u.Contested, u.PasswordHash)
	}
	for _, m := range ms {
		out += fmt.Sprintf("mail %s %s %s %s %q\n", m.ID, m.Kind, m.To, m.Status, m.Text)
	}
	return out
}

// A store failing at any step of a flow, or the caller's context being
// cancelled at any step, leaves no partial state, and the same call made
// again (the same token, the same input) then succeeds.
func TestFlowsLeaveNothingHalfWritten(t *testing.T) {
	t.Parallel()
	type flow struct {
		name  string
		setup func(e *env) func(ctx context.Context) error // prepares state, returns the action
	}
	flows := []flow{
		{"register new", func(e *env) func(context.Context) error {
			e.open()
			return func(ctx context.Context) error {
				return e.m.Register(ctx, users.RegisterInput{Email: "new@example.com", Password: "pw-123456"})
			}
		}},
		{"register existing, other password", func(e *env) func(context.Context) error {
			e.open()
			require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "x@example.com", Password: "pw-123456"}))
			return func(ctx context.Context) error {
				return e.m.Register(ctx, users.RegisterInput{Email: "X@example.com", Password: "other-pass-1"})
			}
		}},
		{"verify email", func(e *env) func(context.Context) error {
			e.open()
			require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw-123456"}))
			tok := memmailer.Token(e.onlyMail("v@example.com"))
			return func(ctx context.Context) error { _, err := e.m.VerifyEmail(ctx, tok); return err }
		}},
		{"invite", func(e *env) func(context.Context) error {
			return func(ctx context.Context) error {
				res, err := e.m.Invite(ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
				if err != nil {
					return err
				}
				return res[0].Err
			}
		}},
		{"accept invite", func(e *env) func(context.Context) error {
			_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"a@example.com"}, Role: e.member.ID})
			require.NoError(t, err)
			tok := memmailer.Token(e.onlyMail("a@example.com"))
			return func(ctx context.Context) error { _, err := e.m.AcceptInvite(ctx, tok, "chosen-pass-1"); return err }
		}},
		{"create", func(e *env) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "c@example.com", Password: "pw-123456", Role: &e.member.ID})
				return err
			}
		}},
	}
	for _, fl := range flows {
		for _, mode := range []string{"store error", "context cancelled"} {
			t.Run(fl.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				for k := 1; ; k++ {
					fs := &faultStore{Store: memstore.New()}
					e := newEnvOn(t, fs)
					action := fl.setup(e)
					before := state(t, fs)
					ctx, cancel := context.WithCancel(context.Background())
					if mode == "store error" {
						fs.arm(k, nil)
					} else {
						fs.arm(k, cancel)
					}
					err := action(ctx)
					hit := fs.disarm()
					cancel()
					if !hit {
						require.NoError(t, err, "no fault at call %d: the flow must succeed", k)
						require.Greater(t, k, 1, "the flow made no store call")
						break
					}
					if err == nil {
						// The broken call was not needed for the outcome
						// (e.g. a read after the write); the write stands.
						continue
					}
					if mode == "store error" {
						assert.ErrorIs(t, err, errInjected, "call %d", k)
					} else {
						assert.ErrorIs(t, err, context.Canceled, "call %d", k)
					}
					assert.Equal(t, before, state(t, fs), "call %d failed: nothing may be written", k)
					require.NoError(t, action(context.Background()), "the caller can retry after a failure at call %d", k)
				}
			})
		}
	}
}

// goneRoleStore answers as if the roles were deleted behind the library's
// back (by SQL, say).
type goneRoleStore struct{ store.Store }

func (goneRoleStore) GetRole(context.Context, string) (*users.Role, error) {
	return nil, store.ErrNotFound
}

// The registration role deleted after the settings were saved: Register
// fails the same way for a new and an existing address, writes nothing,
// and the error is not the caller's fault (it matches no input sentinel,
// so HTTP answers 500, not a 400 that only new addresses would get).
func TestRegisterRoleGoneRevealsNothing(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	e := newEnvOn(t, st)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "old@example.com", Password: "pw-123456"}))
	gone := newEnvOn(t, goneRoleStore{st})
	before := state(t, st)
	errNew := gone.m.Register(e.ctx, users.RegisterInput{Email: "new@example.com", Password: "pw-123456"})
	errOld := gone.m.Register(e.ctx, users.RegisterInput{Email: "old@example.com", Password: "pw-123456"})
	require.Error(t, errNew)
	require.Error(t, errOld)
	assert.Equal(t, errNew.Error(), errOld.Error())
	assert.NotErrorIs(t, errNew, users.ErrInvalidPayload)
	assert.NotErrorIs(t, errNew, users.ErrForbidden)
	assert.Equal(t, before, state(t, st))
}
