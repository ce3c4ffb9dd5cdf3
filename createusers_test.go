package users_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// userCount is how many users the store holds.
func (e *env) userCount() int {
	e.t.Helper()
	n, err := e.m.CountUsers(e.ctx, users.UserQuery{})
	require.NoError(e.t, err)
	return n
}

func TestCreateUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := []users.CreateUserInput{
		{Email: " Ada@Example.com ", Password: "correct horse battery", FirstName: "Ada", Role: &e.member.ID},
		{Email: "grace@example.com", Status: users.StatusDraft},
		{FirstName: "No email"},
	}
	out, err := e.m.CreateUsers(e.ctx, in)
	require.NoError(t, err)
	require.Len(t, out, 3)
	assert.Equal(t, "Ada@Example.com", out[0].Email)
	assert.True(t, out[0].HasPassword)
	assert.Equal(t, &e.member.ID, out[0].Role)
	assert.Equal(t, users.StatusDraft, out[1].Status)
	assert.Equal(t, "No email", out[2].FirstName)
	for _, u := range out {
		got, err := e.m.User(e.ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, u, got)
	}
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: "ada@example.com", Password: "correct horse battery"})
	require.NoError(t, err, "the password was hashed")

	none, err := e.m.CreateUsers(e.ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, none)
}

// TestCreateUsersAllOrNone: a batch with one bad input creates none, and
// the error is the first Directus would give: the emails' shape, then
// their uniqueness (within the batch, then against the store), then the
// other fields, then the passwords.
func TestCreateUsersAllOrNone(t *testing.T) {
	t.Parallel()
	fs := &failingCreates{Store: memstore.New()} // counts the inserts
	e := newEnvOn(t, fs)
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "taken@example.com"})
	require.NoError(t, err)
	policy, err := users.ParsePasswordPolicy(users.PasswordPolicyMinLength)
	require.NoError(t, err)
	s, err := e.m.Settings(e.ctx)
	require.NoError(t, err)
	s.PasswordPolicy = policy
	_, err = e.m.UpdateSettings(e.ctx, s)
	require.NoError(t, err)
	nope := "no-such-role"
	ok := func(email string) users.CreateUserInput { return users.CreateUserInput{Email: email} }
	cases := []struct {
		name  string
		in    []users.CreateUserInput
		is    error
		field string
	}{
		{"malformed email", []users.CreateUserInput{ok("a@example.com"), ok("not an email")}, users.ErrFailedValidation, "email"},
		{"malformed email before a duplicate", []users.CreateUserInput{ok("taken@example.com"), ok("b@example.com"), ok("B@EXAMPLE.COM"), ok("bad@")}, users.ErrFailedValidation, "email"},
		{"duplicate in the batch", []users.CreateUserInput{ok("b@example.com"), ok("c@example.com"), ok(" B@example.COM")}, users.ErrDuplicateEmail, ""},
		{"duplicate of a stored user", []users.CreateUserInput{ok("b@example.com"), ok("TAKEN@example.com")}, users.ErrDuplicateEmail, ""},
		{"bad status", []users.CreateUserInput{ok("b@example.com"), {Email: "c@example.com", Status: "boss"}}, users.ErrInvalidPayload, "status"},
		{"unknown role", []users.CreateUserInput{ok("b@example.com"), {Email: "c@example.com", Role: &nope}}, users.ErrRoleNotFound, ""},
		{"unknown policy", []users.CreateUserInput{ok("b@example.com"), {Email: "c@example.com", Policies: []string{"nope"}}}, users.ErrPolicyNotFound, ""},
		{"weak password", []users.CreateUserInput{{Email: "b@example.com", Password: "long enough"}, {Email: "c@example.com", Password: "short"}}, users.ErrPasswordPolicy, "password"},
		{"too many", make([]users.CreateUserInput, users.MaxCreateUsers+1), users.ErrInvalidPayload, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.userCount()
			fs.mu.Lock()
			inserts := fs.n
			fs.mu.Unlock()
			out, err := e.m.CreateUsers(e.ctx, c.in)
			require.ErrorIs(t, err, c.is)
			assert.Nil(t, out)
			if c.field != "" {
				requireField(t, err, c.field, c.is)
			}
			assert.Equal(t, before, e.userCount(), "nothing created")
			fs.mu.Lock()
			assert.Equal(t, inserts, fs.n, "every input is checked before the first insert")
			fs.mu.Unlock()
		})
	}
}

// failingCreates breaks the k-th CreateUser call (1-based) and, when
// failDelete is set, every DeleteUsers call.
type failingCreates struct {
	store.Store
	mu         sync.Mutex
	k, n       int
	failDelete bool
}

func (f *failingCreates) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	f.mu.Lock()
	f.n++
	hit := f.n == f.k
	f.mu.Unlock()
	if hit {
		return errInjected
	}
	return f.Store.CreateUser(ctx, u, fx)
}

func (f *failingCreates) DeleteUsers(ctx context.Context, ids []string, cond store.Condition, events ...*store.Event) error {
	if f.failDelete {
		return errors.New("injected delete failure")
	}
	return f.Store.DeleteUsers(ctx, ids, cond, events...)
}

// TestCreateUsersStoreFailure: an insert that fails after others leaves
// none of the batch behind; if they cannot be deleted, the error says so.
func TestCreateUsersStoreFailure(t *testing.T) {
	t.Parallel()
	for _, failDelete := range []bool{false, true} {
		t.Run(fmt.Sprint("failDelete=", failDelete), func(t *testing.T) {
			fs := &failingCreates{Store: memstore.New(), k: 3, failDelete: failDelete}
			e := newEnvOn(t, fs)
			in := []users.CreateUserInput{{Email: "a@example.com"}, {Email: "b@example.com"}, {Email: "c@example.com"}, {Email: "d@example.com"}}
			out, err := e.m.CreateUsers(e.ctx, in)
			require.ErrorIs(t, err, errInjected)
			assert.Nil(t, out)
			if !failDelete {
				assert.Equal(t, 0, e.userCount(), "the two inserted before the failure are deleted")
				// The activity log tells it: each created, then deleted.
				evs, err := e.m.ListActivity(e.ctx, users.ActivityQuery{Filter: []byte(`{"email":{"_in":["a@example.com","b@example.com"]}}`)})
				require.NoError(t, err)
				var got []string
				for _, ev := range evs {
					got = append(got, ev.Email+" "+ev.Flow)
				}
				assert.Equal(t, []string{"a@example.com created", "b@example.com created", "a@example.com deleted", "b@example.com deleted"}, got)
				return
			}
			assert.ErrorContains(t, err, "2 users created before the failure remain")
			assert.Equal(t, 2, e.userCount())
		})
	}
}
