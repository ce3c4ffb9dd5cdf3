package users

import (
	"context"
	"errors"
	"time"

	"github.com/gousers/users/store"
)

// backend is the Manager's view of its store: every method calls the store
// and passes the error through storeErr, the one place where the store's
// errors become this package's. The Manager's code then matches its own
// sentinels (ErrDuplicateEmail, ErrInvalidToken…), and store.ErrNotFound
// and store.ErrConflict, which have no counterpart here, where it handles
// them.
type backend struct {
	s store.Store
	// wrote, when not nil, is called after a write that inserted events
	// returned without error: the change and its events are committed, and
	// the delivery worker may look for them.
	wrote func()
}

// after calls b.wrote when err is nil and n events were written.
func (b backend) after(n int, err error) error {
	if err == nil && n > 0 && b.wrote != nil {
		b.wrote()
	}
	return storeErr(err)
}

var _ store.Store = backend{}

// storeErrs pairs each store sentinel with this package's sentinel of the
// same meaning, the specific before the general.
var storeErrs = [...]struct{ store, users error }{
	{store.ErrTokenExpired, ErrTokenExpired},
	{store.ErrTokenUsed, ErrTokenUsed},
	{store.ErrTokenReused, ErrTokenReused},
	{store.ErrInvalidToken, ErrInvalidToken},
	{store.ErrDuplicateEmail, ErrDuplicateEmail},
	{store.ErrDuplicateID, ErrDuplicateID},
	{store.ErrRoleNotFound, ErrRoleNotFound},
	{store.ErrPolicyNotFound, ErrPolicyNotFound},
	{store.ErrLastAdmin, ErrLastAdmin},
}

// storeErr translates an error a store returned: one matching a store
// sentinel becomes a *storeError that matches both that sentinel and this
// package's of the same meaning and reads as the latter; any other error
// (store.ErrNotFound, store.ErrConflict, a context's or the database's) is
// returned as it is.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	for _, p := range storeErrs {
		if errors.Is(err, p.store) {
			return &storeError{sentinel: p.users, cause: err}
		}
	}
	return err
}

// storeError is a store's error seen through this package's sentinel.
type storeError struct {
	sentinel error // this package's
	cause    error // the store's, as returned
}

func (e *storeError) Error() string   { return e.sentinel.Error() }
func (e *storeError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// call passes a store method's results through storeErr.
func call[T any](v T, err error) (T, error) { return v, storeErr(err) }

func (b backend) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	return b.after(len(fx.Events), b.s.CreateUser(ctx, u, fx))
}

func (b backend) GetUser(ctx context.Context, id string) (*store.User, error) {
	return call(b.s.GetUser(ctx, id))
}

func (b backend) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	return call(b.s.GetUserByEmailKey(ctx, key))
}

func (b backend) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	return call(b.s.ListUsers(ctx, q))
}

func (b backend) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	return call(b.s.CountUsers(ctx, q))
}

func (b backend) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	r, err := b.s.UpdateUser(ctx, id, cond, ch, fx)
	return r, b.after(len(fx.Events), err)
}

func (b backend) UpdateUsers(ctx context.Context, ids []string, cond store.Condition, ch store.UserChange, events ...*store.Event) error {
	return b.after(len(events), b.s.UpdateUsers(ctx, ids, cond, ch, events...))
}

func (b backend) DeleteUsers(ctx context.Context, ids []string, cond store.Condition, events ...*store.Event) error {
	return b.after(len(events), b.s.DeleteUsers(ctx, ids, cond, events...))
}

func (b backend) ConsumeToken(ctx context.Context, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	r, err := b.s.ConsumeToken(ctx, hash, purpose, now, cond, ch, fx)
	return r, b.after(len(fx.Events), err)
}

func (b backend) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	return call(b.s.GetToken(ctx, hash))
}

func (b backend) GetTokenUser(ctx context.Context, hash []byte) (*store.Token, *store.User, error) {
	t, u, err := b.s.GetTokenUser(ctx, hash)
	return t, u, storeErr(err)
}

func (b backend) CreateSession(ctx context.Context, s *store.Session, cond store.Condition, events ...*store.Event) error {
	return b.after(len(events), b.s.CreateSession(ctx, s, cond, events...))
}

func (b backend) GetSession(ctx context.Context, id string) (*store.Session, error) {
	return call(b.s.GetSession(ctx, id))
}

func (b backend) ResolveSession(ctx context.Context, id string) (*store.Session, *store.User, store.Grants, error) {
	s, u, g, err := b.s.ResolveSession(ctx, id)
	return s, u, g, storeErr(err)
}

func (b backend) RotateSession(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, cond store.Condition) (*store.Session, *store.User, error) {
	s, u, err := b.s.RotateSession(ctx, oldHash, newHash, now, expiresAt, cond)
	return s, u, storeErr(err)
}

func (b backend) RenewSession(ctx context.Context, id string, generation int64, now time.Time, grace time.Duration, cond store.Condition) (*store.Session, *store.User, error) {
	s, u, err := b.s.RenewSession(ctx, id, generation, now, grace, cond)
	return s, u, storeErr(err)
}

func (b backend) DeleteSession(ctx context.Context, id string, events ...*store.Event) error {
	return b.after(len(events), b.s.DeleteSession(ctx, id, events...))
}

func (b backend) ListSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	l, err := b.s.ListSessions(ctx, userID)
	return l, storeErr(err)
}

func (b backend) DeleteSessionByToken(ctx context.Context, hash []byte, events ...*store.Event) error {
	return b.after(len(events), b.s.DeleteSessionByToken(ctx, hash, events...))
}

func (b backend) ClaimEvents(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.EventDelivery, error) {
	return call(b.s.ClaimEvents(ctx, now, leaseUntil, limit))
}

func (b backend) AckEvent(ctx context.Context, eventID int64, handler string) error {
	return storeErr(b.s.AckEvent(ctx, eventID, handler))
}

func (b backend) RetryEvent(ctx context.Context, eventID int64, handler string, r store.EventRetry) error {
	return storeErr(b.s.RetryEvent(ctx, eventID, handler, r))
}

func (b backend) ListEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, error) {
	return call(b.s.ListEvents(ctx, q))
}

func (b backend) CountEvents(ctx context.Context, q store.EventQuery) (int, error) {
	return call(b.s.CountEvents(ctx, q))
}

func (b backend) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	return call(b.s.PruneEvents(ctx, before, limit))
}

func (b backend) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Mail, error) {
	return call(b.s.ClaimMail(ctx, now, leaseUntil, limit))
}

func (b backend) UpdateMail(ctx context.Context, id string, u store.MailUpdate) error {
	return storeErr(b.s.UpdateMail(ctx, id, u))
}

func (b backend) ListMail(ctx context.Context, q store.MailQuery) ([]*store.Mail, error) {
	return call(b.s.ListMail(ctx, q))
}

func (b backend) MailStats(ctx context.Context) (store.MailStats, error) {
	return call(b.s.MailStats(ctx))
}

func (b backend) CreateRole(ctx context.Context, r *store.Role) error {
	return storeErr(b.s.CreateRole(ctx, r))
}

func (b backend) GetRole(ctx context.Context, id string) (*store.Role, error) {
	return call(b.s.GetRole(ctx, id))
}

func (b backend) ListRoles(ctx context.Context) ([]*store.Role, error) {
	return call(b.s.ListRoles(ctx))
}

func (b backend) CreatePolicy(ctx context.Context, p *store.Policy) error {
	return storeErr(b.s.CreatePolicy(ctx, p))
}

func (b backend) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	return call(b.s.GetPolicy(ctx, id))
}

func (b backend) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	return call(b.s.ListPolicies(ctx))
}

func (b backend) Settings(ctx context.Context) ([]byte, error) {
	return call(b.s.Settings(ctx))
}

func (b backend) SaveSettings(ctx context.Context, doc []byte) error {
	return storeErr(b.s.SaveSettings(ctx, doc))
}

func (b backend) PurgeExpired(ctx context.Context, before time.Time) (int, error) {
	return call(b.s.PurgeExpired(ctx, before))
}
