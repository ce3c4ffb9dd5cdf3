package httpapi_test

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gousers/users/store"
)

// countingStore passes every call on to s and counts the calls by method.
// It implements each method itself rather than embedding a store.Store, so
// that no call can slip past the count: a method added to the contract
// does not compile here until it is counted.
type countingStore struct {
	s     store.Store
	total atomic.Int64
	mu    sync.Mutex
	calls map[string]int
}

var _ store.Store = (*countingStore)(nil)

func newCountingStore(s store.Store) *countingStore {
	return &countingStore{s: s, calls: make(map[string]int)}
}

func (c *countingStore) count(method string) {
	c.total.Add(1)
	c.mu.Lock()
	c.calls[method]++
	c.mu.Unlock()
}

// take returns the calls counted since the last take, by method, and
// starts counting afresh.
func (c *countingStore) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.calls
	c.calls = make(map[string]int)
	c.total.Store(0)
	return m
}

func (c *countingStore) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	c.count("CreateUser")
	return c.s.CreateUser(ctx, u, fx)
}

func (c *countingStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	c.count("GetUser")
	return c.s.GetUser(ctx, id)
}

func (c *countingStore) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	c.count("GetUserByEmailKey")
	return c.s.GetUserByEmailKey(ctx, key)
}

func (c *countingStore) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	c.count("ListUsers")
	return c.s.ListUsers(ctx, q)
}

func (c *countingStore) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	c.count("CountUsers")
	return c.s.CountUsers(ctx, q)
}

func (c *countingStore) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	c.count("UpdateUser")
	return c.s.UpdateUser(ctx, id, cond, ch, fx)
}

func (c *countingStore) UpdateUsers(ctx context.Context, ids []string, cond store.Condition, ch store.UserChange, events ...*store.Event) error {
	c.count("UpdateUsers")
	return c.s.UpdateUsers(ctx, ids, cond, ch, events...)
}

func (c *countingStore) DeleteUsers(ctx context.Context, ids []string, cond store.Condition, events ...*store.Event) error {
	c.count("DeleteUsers")
	return c.s.DeleteUsers(ctx, ids, cond, events...)
}

func (c *countingStore) ConsumeToken(ctx context.Context, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	c.count("ConsumeToken")
	return c.s.ConsumeToken(ctx, hash, purpose, now, cond, ch, fx)
}

func (c *countingStore) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	c.count("GetToken")
	return c.s.GetToken(ctx, hash)
}

func (c *countingStore) GetTokenUser(ctx context.Context, hash []byte) (*store.Token, *store.User, error) {
	c.count("GetTokenUser")
	return c.s.GetTokenUser(ctx, hash)
}

func (c *countingStore) CreateSession(ctx context.Context, s *store.Session, cond store.Condition, events ...*store.Event) error {
	c.count("CreateSession")
	return c.s.CreateSession(ctx, s, cond, events...)
}

func (c *countingStore) GetSession(ctx context.Context, id string) (*store.Session, error) {
	c.count("GetSession")
	return c.s.GetSession(ctx, id)
}

func (c *countingStore) ResolveSession(ctx context.Context, id string) (*store.Session, *store.User, store.Grants, error) {
	c.count("ResolveSession")
	return c.s.ResolveSession(ctx, id)
}

func (c *countingStore) RenewSession(ctx context.Context, id string, generation int64, now time.Time, grace time.Duration, cond store.Condition) (*store.Session, *store.User, error) {
	c.count("RenewSession")
	return c.s.RenewSession(ctx, id, generation, now, grace, cond)
}

func (c *countingStore) RotateSession(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, cond store.Condition) (*store.Session, *store.User, error) {
	c.count("RotateSession")
	return c.s.RotateSession(ctx, oldHash, newHash, now, expiresAt, cond)
}

func (c *countingStore) ListSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	c.count("ListSessions")
	return c.s.ListSessions(ctx, userID)
}

func (c *countingStore) DeleteSession(ctx context.Context, id string, events ...*store.Event) error {
	c.count("DeleteSession")
	return c.s.DeleteSession(ctx, id, events...)
}

func (c *countingStore) DeleteSessionByToken(ctx context.Context, hash []byte, events ...*store.Event) error {
	c.count("DeleteSessionByToken")
	return c.s.DeleteSessionByToken(ctx, hash, events...)
}

func (c *countingStore) ClaimEvents(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.EventDelivery, error) {
	c.count("ClaimEvents")
	return c.s.ClaimEvents(ctx, now, leaseUntil, limit)
}

func (c *countingStore) AckEvent(ctx context.Context, eventID int64, handler string) error {
	c.count("AckEvent")
	return c.s.AckEvent(ctx, eventID, handler)
}

func (c *countingStore) RetryEvent(ctx context.Context, eventID int64, handler string, r store.EventRetry) error {
	c.count("RetryEvent")
	return c.s.RetryEvent(ctx, eventID, handler, r)
}

func (c *countingStore) ListEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, error) {
	c.count("ListEvents")
	return c.s.ListEvents(ctx, q)
}

func (c *countingStore) CountEvents(ctx context.Context, q store.EventQuery) (int, error) {
	c.count("CountEvents")
	return c.s.CountEvents(ctx, q)
}

func (c *countingStore) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	c.count("PruneEvents")
	return c.s.PruneEvents(ctx, before, limit)
}

func (c *countingStore) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Mail, error) {
	c.count("ClaimMail")
	return c.s.ClaimMail(ctx, now, leaseUntil, limit)
}

func (c *countingStore) UpdateMail(ctx context.Context, id string, u store.MailUpdate) error {
	c.count("UpdateMail")
	return c.s.UpdateMail(ctx, id, u)
}

func (c *countingStore) ListMail(ctx context.Context, q store.MailQuery) ([]*store.Mail, error) {
	c.count("ListMail")
	return c.s.ListMail(ctx, q)
}

func (c *countingStore) MailStats(ctx context.Context) (store.MailStats, error) {
	c.count("MailStats")
	return c.s.MailStats(ctx)
}

func (c *countingStore) CreateRole(ctx context.Context, r *store.Role) error {
	c.count("CreateRole")
	return c.s.CreateRole(ctx, r)
}

func (c *countingStore) GetRole(ctx context.Context, id string) (*store.Role, error) {
	c.count("GetRole")
	return c.s.GetRole(ctx, id)
}

func (c *countingStore) ListRoles(ctx context.Context) ([]*store.Role, error) {
	c.count("ListRoles")
	return c.s.ListRoles(ctx)
}

func (c *countingStore) CreatePolicy(ctx context.Context, p *store.Policy) error {
	c.count("CreatePolicy")
	return c.s.CreatePolicy(ctx, p)
}

func (c *countingStore) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	c.count("GetPolicy")
	return c.s.GetPolicy(ctx, id)
}

func (c *countingStore) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	c.count("ListPolicies")
	return c.s.ListPolicies(ctx)
}

func (c *countingStore) Settings(ctx context.Context) ([]byte, error) {
	c.count("Settings")
	return c.s.Settings(ctx)
}

func (c *countingStore) SaveSettings(ctx context.Context, doc []byte) error {
	c.count("SaveSettings")
	return c.s.SaveSettings(ctx, doc)
}

func (c *countingStore) PurgeExpired(ctx context.Context, before time.Time) (int, error) {
	c.count("PurgeExpired")
	return c.s.PurgeExpired(ctx, before)
}

func (c *countingStore) CreateTwoFactor(ctx context.Context, userID string, tf store.TwoFactorRecord, codes [][]byte) error {
	c.count("CreateTwoFactor")
	return c.s.CreateTwoFactor(ctx, userID, tf, codes)
}

func (c *countingStore) GetTwoFactor(ctx context.Context, userID string) (*store.TwoFactorRecord, error) {
	c.count("GetTwoFactor")
	return c.s.GetTwoFactor(ctx, userID)
}

func (c *countingStore) DeleteTwoFactor(ctx context.Context, userID string) error {
	c.count("DeleteTwoFactor")
	return c.s.DeleteTwoFactor(ctx, userID)
}

func (c *countingStore) ClaimTOTPStep(ctx context.Context, userID string, step int64) error {
	c.count("ClaimTOTPStep")
	return c.s.ClaimTOTPStep(ctx, userID, step)
}

func (c *countingStore) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	c.count("ConsumeRecoveryCode")
	return c.s.ConsumeRecoveryCode(ctx, userID, hash)
}

func (c *countingStore) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	c.count("ReplaceRecoveryCodes")
	return c.s.ReplaceRecoveryCodes(ctx, userID, codes)
}
