package users

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
)

// Each store sentinel comes out of the boundary as this package's sentinel
// of the same meaning: it matches both, reads as ours, and keeps the
// store's error (and what it wraps) reachable.
func TestStoreErrTranslates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		store, users error
		family       error // the family ours belongs to, if any
	}{
		{store.ErrDuplicateEmail, ErrDuplicateEmail, nil},
		{store.ErrDuplicateID, ErrDuplicateID, nil},
		{store.ErrRoleNotFound, ErrRoleNotFound, ErrInvalidPayload},
		{store.ErrPolicyNotFound, ErrPolicyNotFound, ErrInvalidPayload},
		{store.ErrInvalidToken, ErrInvalidToken, nil},
		{store.ErrTokenUsed, ErrTokenUsed, ErrInvalidToken},
		{store.ErrTokenExpired, ErrTokenExpired, ErrInvalidToken},
		{store.ErrTokenReused, ErrTokenReused, ErrInvalidToken},
		{store.ErrLastAdmin, ErrLastAdmin, ErrInvalidPayload},
	} {
		cause := &causeErr{msg: "conn 7"}
		in := fmt.Errorf("somestore: op: %w (%w)", tc.store, cause)
		got := storeErr(in)
		assert.ErrorIs(t, got, tc.users, "%v", tc.store)
		assert.ErrorIs(t, got, tc.store, "%v", tc.store)
		if tc.family != nil {
			assert.ErrorIs(t, got, tc.family, "%v", tc.store)
		}
		assert.Equal(t, tc.users.Error(), got.Error(), "reads as this package's sentinel")
		var n *causeErr
		assert.ErrorAs(t, got, &n, "the store's cause stays reachable")
		for _, other := range storeErrs {
			if other.users != tc.users && !errors.Is(tc.users, other.users) {
				assert.NotErrorIs(t, got, other.users, "%v also matches %v", tc.store, other.users)
			}
		}
	}
}

type causeErr struct{ msg string }

func (e *causeErr) Error() string { return e.msg }

// Errors without a counterpart here pass through as they are: the
// Manager's code matches store.ErrNotFound and store.ErrConflict itself,
// and a context's or database's error is not a store sentinel.
func TestStoreErrPassesOthers(t *testing.T) {
	t.Parallel()
	assert.NoError(t, storeErr(nil))
	for _, err := range []error{
		store.ErrNotFound, store.ErrConflict,
		fmt.Errorf("somestore: get user: %w", store.ErrNotFound),
		context.Canceled, errors.New("connection refused"),
	} {
		assert.Same(t, err, storeErr(err))
	}
}

// Every method of the backend passes its store's error through storeErr:
// a method that returned the store's error as it is would fail here.
func TestBackendTranslatesEveryMethod(t *testing.T) {
	t.Parallel()
	b := reflect.ValueOf(backend{s: failing{}})
	iface := reflect.TypeFor[store.Store]()
	require.Equal(t, 44, iface.NumMethod(), "the Store contract changed: check this test's fake")
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		fn := b.MethodByName(m.Name)
		args := make([]reflect.Value, fn.Type().NumIn())
		for j := range args {
			args[j] = reflect.Zero(fn.Type().In(j))
		}
		call := fn.Call
		if fn.Type().IsVariadic() {
			call = fn.CallSlice
		}
		out := call(args)
		err, _ := out[len(out)-1].Interface().(error)
		assert.ErrorIs(t, err, ErrDuplicateEmail, "backend.%s", m.Name)
		assert.Equal(t, ErrDuplicateEmail.Error(), fmt.Sprint(err), "backend.%s", m.Name)
	}
}

// failing is a store whose every method fails with store.ErrDuplicateEmail.
type failing struct{}

var errFailing = fmt.Errorf("failing: %w", store.ErrDuplicateEmail)

func (failing) CreateUser(context.Context, *store.User, store.Effects) error { return errFailing }
func (failing) GetUser(context.Context, string) (*store.User, error)         { return nil, errFailing }
func (failing) GetUserByEmailKey(context.Context, string) (*store.User, error) {
	return nil, errFailing
}
func (failing) ListUsers(context.Context, store.UserQuery) ([]*store.User, error) {
	return nil, errFailing
}
func (failing) CountUsers(context.Context, store.UserQuery) (int, error) { return 0, errFailing }
func (failing) UpdateUser(context.Context, string, store.Condition, store.UserChange, store.Effects) (*store.User, error) {
	return nil, errFailing
}
func (failing) UpdateUsers(context.Context, []string, store.Condition, store.UserChange, ...*store.Event) error {
	return errFailing
}
func (failing) DeleteUsers(context.Context, []string, store.Condition, ...*store.Event) error {
	return errFailing
}
func (failing) ConsumeToken(context.Context, []byte, store.Purpose, time.Time, store.Condition, store.UserChange, store.Effects) (*store.User, error) {
	return nil, errFailing
}
func (failing) GetToken(context.Context, []byte) (*store.Token, error) { return nil, errFailing }
func (failing) GetTokenUser(context.Context, []byte) (*store.Token, *store.User, error) {
	return nil, nil, errFailing
}
func (failing) CreateSession(context.Context, *store.Session, store.Condition, ...*store.Event) error {
	return errFailing
}
func (failing) GetSession(context.Context, string) (*store.Session, error) { return nil, errFailing }
func (failing) ResolveSession(context.Context, string) (*store.Session, *store.User, store.Grants, error) {
	return nil, nil, store.Grants{}, errFailing
}
func (failing) RotateSession(context.Context, []byte, []byte, time.Time, time.Time, store.Condition) (*store.Session, *store.User, error) {
	return nil, nil, errFailing
}
func (failing) RenewSession(context.Context, string, int64, time.Time, time.Duration, store.Condition) (*store.Session, *store.User, error) {
	return nil, nil, errFailing
}
func (failing) DeleteSession(context.Context, string, ...*store.Event) error { return errFailing }
func (failing) DeleteSessionByToken(context.Context, []byte, ...*store.Event) error {
	return errFailing
}
func (failing) ClaimEvents(context.Context, time.Time, time.Time, int) ([]*store.EventDelivery, error) {
	return nil, errFailing
}
func (failing) AckEvent(context.Context, int64, string) error { return errFailing }
func (failing) RetryEvent(context.Context, int64, string, store.EventRetry) error {
	return errFailing
}
func (failing) ListEvents(context.Context, store.EventQuery) ([]*store.Event, error) {
	return nil, errFailing
}
func (failing) CountEvents(context.Context, store.EventQuery) (int, error) { return 0, errFailing }
func (failing) PruneEvents(context.Context, time.Time, int) (int, error) {
	return 0, errFailing
}
func (failing) ListSessions(context.Context, string) ([]*store.Session, error) {
	return nil, errFailing
}
func (failing) ClaimMail(context.Context, time.Time, time.Time, int) ([]*store.Mail, error) {
	return nil, errFailing
}
func (failing) UpdateMail(context.Context, string, store.MailUpdate) error { return errFailing }
func (failing) ListMail(context.Context, store.MailQuery) ([]*store.Mail, error) {
	return nil, errFailing
}
func (failing) MailStats(context.Context) (store.MailStats, error) {
	return store.MailStats{}, errFailing
}
func (failing) CreateRole(context.Context, *store.Role) error            { return errFailing }
func (failing) GetRole(context.Context, string) (*store.Role, error)     { return nil, errFailing }
func (failing) ListRoles(context.Context) ([]*store.Role, error)         { return nil, errFailing }
func (failing) CreatePolicy(context.Context, *store.Policy) error        { return errFailing }
func (failing) GetPolicy(context.Context, string) (*store.Policy, error) { return nil, errFailing }
func (failing) ListPolicies(context.Context) ([]*store.Policy, error)    { return nil, errFailing }
func (failing) Settings(context.Context) ([]byte, error)                 { return nil, errFailing }
func (failing) SaveSettings(context.Context, []byte) error               { return errFailing }
func (failing) PurgeExpired(context.Context, time.Time) (int, error)     { return 0, errFailing }
