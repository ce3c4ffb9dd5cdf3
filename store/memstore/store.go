// Package memstore is an in-memory [store.Store], for tests and examples.
//
// A Store keeps everything in maps behind one mutex, so every method is
// atomic and concurrent callers in the same process see each change whole.
// Nothing survives the process: use store/sqlitestore, store/pgstore or
// store/mysqlstore for data that must last, or that several processes share.
//
// It behaves as the database-backed stores do, so that tests written
// against it hold for them too:
//
//   - Records are copied in and out: a caller may modify what it passed in
//     or got back without touching the stored data.
//   - Metadata is stored as JSON would store it: it is encoded on the way
//     in (a value JSON cannot encode is an error) and comes back as
//     map[string]any, []any, string, float64, bool and nil.
//   - Times are kept in UTC, truncated to the microsecond.
//   - An email key is unique among users when not empty; roles and
//     policies a user names must exist.
//   - Queries (ListUsers, CountUsers) look at every user: fine for tests
//     and small examples, which is what the package is for.
//
// It passes store/storetest.
package memstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gousers/users/store"
)

// Store is an in-memory store.Store. The zero value is not usable: call
// New. A Store is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	users    map[string]*store.User  // by ID
	byKey    map[string]string       // EmailKey (not empty) → user ID
	tokens   map[string]*store.Token // by string(Hash)
	roles    map[string]*store.Role
	policies map[string]*store.Policy
	mail     map[string]*store.Mail
	settings []byte // nil until saved

	sessions  map[string]*store.Session // by ID
	current   map[string]string         // string(TokenHash) → session ID
	earlier   map[string]string         // string(an earlier hash) → session ID
	earlierOf map[string][]string       // session ID → its earlier hashes
}

var _ store.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:    make(map[string]*store.User),
		byKey:    make(map[string]string),
		tokens:   make(map[string]*store.Token),
		roles:    make(map[string]*store.Role),
		policies: make(map[string]*store.Policy),
		mail:     make(map[string]*store.Mail),

		sessions:  make(map[string]*store.Session),
		current:   make(map[string]string),
		earlier:   make(map[string]string),
		earlierOf: make(map[string][]string),
	}
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec, err := copyUserIn(u)
	if err != nil {
		return fmt.Errorf("memstore: create user: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[rec.ID]; ok {
		return fmt.Errorf("memstore: create user: a user with id %q exists already", rec.ID)
	}
	if err := s.checkUser(rec); err != nil {
		return err // the contract's sentinels, as they are
	}
	if err := s.checkEffects(rec.ID, fx); err != nil {
		return fmt.Errorf("memstore: create user: %w", err)
	}
	s.put(rec, "")
	s.applyEffects(rec.ID, fx)
	return nil
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get user: %w", store.ErrNotFound)
	}
	return copyUserOut(u), nil
}

// GetUserByEmailKey implements store.Store. An empty key names no user.
func (s *Store) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byKey[key]
	if key == "" || !ok {
		return nil, fmt.Errorf("memstore: get user by email: %w", store.ErrNotFound)
	}
	return copyUserOut(s.users[id]), nil
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sel, err := compileQuery(q)
	if err != nil {
		return nil, fmt.Errorf("memstore: list users: %w", err)
	}
	order, err := compileSort(q.Sort)
	if err != nil {
		return nil, fmt.Errorf("memstore: list users: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*store.User
	for _, u := range s.users {
		if sel(u) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, order)
	out = page(out, q.Offset, q.Limit)
	for i, u := range out {
		out[i] = copyUserOut(u)
	}
	return out, nil
}

// CountUsers implements store.Store.
func (s *Store) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	sel, err := compileQuery(q)
	if err != nil {
		return 0, fmt.Errorf("memstore: count users: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, u := range s.users {
		if sel(u) {
			n++
		}
	}
	return n, nil
}

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("memstore: update user: %w", store.ErrNotFound)
	}
	if !holds(cur, cond) {
		return nil, fmt.Errorf("memstore: update user: %w", store.ErrConflict)
	}
	next, err := s.changed(cur, ch)
	if err != nil {
		return nil, fmt.Errorf("memstore: update user: %w", err)
	}
	if cond.KeepAdmin && !s.keepsAdmin(map[string]*store.User{id: next}, nil) {
		return nil, fmt.Errorf("memstore: update user: %w", store.ErrLastAdmin)
	}
	if err := s.checkEffects(id, fx); err != nil {
		return nil, fmt.Errorf("memstore: update user: %w", err)
	}
	s.put(next, cur.EmailKey)
	s.applyEffects(id, fx)
	return copyUserOut(next), nil
}

// UpdateUsers implements store.Store, applying ch.RevokeTokens and
// ch.EndSessions to every user it changes. A change of Email or EmailKey
// is refused: the contract forbids it, and one key cannot go to many
// users.
func (s *Store) UpdateUsers(ctx context.Context, ids []string, cond store.Condition, ch store.UserChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ch.Email != nil || ch.EmailKey != nil {
		return errors.New("memstore: update users: the email cannot be changed for many users at once")
	}
	ids = uniq(ids)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.existing(ids, cond)
	if err != nil {
		return fmt.Errorf("memstore: update users: %w", err)
	}
	next := make(map[string]*store.User, len(ids))
	for _, u := range cur {
		n, err := s.changed(u, ch)
		if err != nil {
			return fmt.Errorf("memstore: update users: %w", err)
		}
		next[u.ID] = n
	}
	if cond.KeepAdmin && !s.keepsAdmin(next, nil) {
		return fmt.Errorf("memstore: update users: %w", store.ErrLastAdmin)
	}
	for _, u := range next {
		s.put(u, u.EmailKey)
		s.applyEffects(u.ID, store.Effects{RevokeTokens: ch.RevokeTokens, EndSessions: ch.EndSessions})
	}
	return nil
}

// DeleteUsers implements store.Store.
func (s *Store) DeleteUsers(ctx context.Context, ids []string, cond store.Condition) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ids = uniq(ids)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.existing(ids, cond); err != nil {
		return fmt.Errorf("memstore: delete users: %w", err)
	}
	gone := make(map[string]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	if cond.KeepAdmin && !s.keepsAdmin(nil, gone) {
		return fmt.Errorf("memstore: delete users: %w", store.ErrLastAdmin)
	}
	for k, t := range s.tokens {
		if gone[t.UserID] {
			delete(s.tokens, k)
		}
	}
	for id, sess := range s.sessions {
		if gone[sess.UserID] {
			s.deleteSession(id)
		}
	}
	for id, m := range s.mail {
		if gone[m.UserID] && m.Status == store.MailPending {
			delete(s.mail, id)
		}
	}
	for _, id := range ids {
		if k := s.users[id].EmailKey; k != "" && s.byKey[k] == id {
			delete(s.byKey, k)
		}
		delete(s.users, id)
	}
	return nil
}

// existing returns the users with the given ids: ErrNotFound when one is
// missing, ErrConflict when one does not satisfy cond.
func (s *Store) existing(ids []string, cond store.Condition) ([]*store.User, error) {
	out := make([]*store.User, 0, len(ids))
	for _, id := range ids {
		u, ok := s.users[id]
		if !ok {
			return nil, store.ErrNotFound
		}
		out = append(out, u)
	}
	for _, u := range out {
		if !holds(u, cond) {
			return nil, store.ErrConflict
		}
	}
	return out, nil
}

// ConsumeToken implements store.Store.
func (s *Store) ConsumeToken(ctx context.Context, hash []byte, purpose store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now = norm(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[string(hash)]
	if !ok || tok.Purpose != purpose {
		return nil, fmt.Errorf("memstore: consume token: %w", store.ErrInvalidToken)
	}
	if tok.ConsumedAt != nil {
		return nil, fmt.Errorf("memstore: consume token: %w", store.ErrTokenUsed)
	}
	if !now.Before(tok.ExpiresAt) {
		return nil, fmt.Errorf("memstore: consume token: %w", store.ErrTokenExpired)
	}
	cur, ok := s.users[tok.UserID]
	if !ok {
		return nil, fmt.Errorf("memstore: consume token: %w", store.ErrInvalidToken)
	}
	if !holds(cur, cond) {
		return nil, fmt.Errorf("memstore: consume token: %w", store.ErrConflict)
	}
	next, err := s.changed(cur, ch)
	if err != nil {
		return nil, fmt.Errorf("memstore: consume token: %w", err)
	}
	if cond.KeepAdmin && !s.keepsAdmin(map[string]*store.User{cur.ID: next}, nil) {
		return nil, fmt.Errorf("memstore: consume token: %w", store.ErrLastAdmin)
	}
	if err := s.checkEffects(cur.ID, fx); err != nil {
		return nil, fmt.Errorf("memstore: consume token: %w", err)
	}
	tok.ConsumedAt = &now
	s.put(next, cur.EmailKey)
	s.applyEffects(cur.ID, fx)
	return copyUserOut(next), nil
}

// GetToken implements store.Store.
func (s *Store) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[string(hash)]
	if !ok {
		return nil, fmt.Errorf("memstore: get token: %w", store.ErrNotFound)
	}
	return copyToken(tok), nil
}

// CreateRole implements store.Store.
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[r.ID]; ok {
		return store.ErrDuplicateID // as it is: the Manager adds the operation
	}
	c := *r
	s.roles[r.ID] = &c
	return nil
}

// GetRole implements store.Store.
func (s *Store) GetRole(ctx context.Context, id string) (*store.Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get role: %w", store.ErrNotFound)
	}
	c := *r
	return &c, nil
}

// ListRoles implements store.Store.
func (s *Store) ListRoles(ctx context.Context) ([]*store.Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*store.Role, 0, len(s.roles))
	for _, r := range s.roles {
		c := *r
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *store.Role) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// CreatePolicy implements store.Store.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.policies[p.ID]; ok {
		return store.ErrDuplicateID // as it is: the Manager adds the operation
	}
	c := *p
	s.policies[p.ID] = &c
	return nil
}

// GetPolicy implements store.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (*store.Policy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get policy: %w", store.ErrNotFound)
	}
	c := *p
	return &c, nil
}

// ListPolicies implements store.Store.
func (s *Store) ListPolicies(ctx context.Context) ([]*store.Policy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*store.Policy, 0, len(s.policies))
	for _, p := range s.policies {
		c := *p
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *store.Policy) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Settings implements store.Store.
func (s *Store) Settings(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.settings), nil
}

// SaveSettings implements store.Store.
func (s *Store) SaveSettings(ctx context.Context, doc []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := bytes.Clone(doc)
	if c == nil {
		c = []byte{} // saved, even if empty
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settings = c
	return nil
}

// ClaimMail implements store.Store. A limit of zero or less claims
// nothing.
func (s *Store) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now, leaseUntil = norm(now), norm(leaseUntil)
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*store.Mail
	for _, m := range s.mail {
		if m.Status == store.MailPending && !m.NextAttemptAt.After(now) && (m.LeaseUntil == nil || !m.LeaseUntil.After(now)) {
			due = append(due, m)
		}
	}
	sortMail(due)
	due = due[:min(max(limit, 0), len(due))]
	out := make([]*store.Mail, len(due))
	for i, m := range due {
		m.LeaseUntil = &leaseUntil
		out[i] = copyMail(m)
	}
	return out, nil
}

// UpdateMail implements store.Store.
func (s *Store) UpdateMail(ctx context.Context, id string, u store.MailUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.mail[id]
	if !ok {
		return fmt.Errorf("memstore: update mail: %w", store.ErrNotFound)
	}
	m.Status = u.Status
	m.Attempts = u.Attempts
	m.LastError = u.LastError
	m.NextAttemptAt = norm(u.NextAttemptAt)
	m.SentAt = normPtr(u.SentAt)
	m.LeaseUntil = nil
	if u.ClearBody {
		m.Text, m.HTML = "", ""
	}
	return nil
}

// ListMail implements store.Store.
func (s *Store) ListMail(ctx context.Context, q store.MailQuery) ([]*store.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*store.Mail
	for _, m := range s.mail {
		if (q.Status == "" || m.Status == q.Status) && (q.To == "" || m.To == q.To) {
			out = append(out, m)
		}
	}
	sortMail(out)
	out = page(out, 0, q.Limit)
	for i, m := range out {
		out[i] = copyMail(m)
	}
	return out, nil
}

// MailStats implements store.Store.
func (s *Store) MailStats(ctx context.Context) (store.MailStats, error) {
	if err := ctx.Err(); err != nil {
		return store.MailStats{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var st store.MailStats
	for _, m := range s.mail {
		switch m.Status {
		case store.MailPending:
			st.Pending++
			if st.OldestPending == nil || m.CreatedAt.Before(*st.OldestPending) {
				st.OldestPending = new(m.CreatedAt)
			}
		case store.MailFailed:
			st.Failed++
		}
	}
	return st, nil
}

// ---------------------------------------------------------------------------
// Helpers. Those with a Store receiver expect s.mu held.

// checkUser checks the uniqueness of rec's email key (against users other
// than rec) and the existence of its role and policies.
func (s *Store) checkUser(rec *store.User) error {
	if rec.EmailKey != "" {
		if id, ok := s.byKey[rec.EmailKey]; ok && id != rec.ID {
			return store.ErrDuplicateEmail
		}
	}
	if rec.Role != nil {
		if _, ok := s.roles[*rec.Role]; !ok {
			return store.ErrRoleNotFound
		}
	}
	for _, p := range rec.Policies {
		if _, ok := s.policies[p]; !ok {
			return store.ErrPolicyNotFound
		}
	}
	return nil
}

// changed returns a copy of cur with ch applied, checked with checkUser.
func (s *Store) changed(cur *store.User, ch store.UserChange) (*store.User, error) {
	u := copyUser(cur)
	if ch.Email != nil {
		u.Email = *ch.Email
	}
	if ch.EmailKey != nil {
		u.EmailKey = *ch.EmailKey
	}
	if ch.PasswordHash != nil {
		u.PasswordHash = *ch.PasswordHash
	}
	if ch.FirstName != nil {
		u.FirstName = *ch.FirstName
	}
	if ch.LastName != nil {
		u.LastName = *ch.LastName
	}
	if ch.Status != nil {
		u.Status = *ch.Status
	}
	if ch.SetRole {
		u.Role = nil
		if ch.Role != nil {
			u.Role = new(*ch.Role)
		}
	}
	if ch.SetPolicies {
		u.Policies = clonePolicies(ch.Policies)
	}
	if ch.Contested != nil {
		u.Contested = *ch.Contested
	}
	if ch.Metadata != nil {
		meta, err := jsonCopy(ch.Metadata)
		if err != nil {
			return nil, err
		}
		u.Metadata = meta
	}
	u.UpdatedAt = norm(ch.UpdatedAt)
	if err := s.checkUser(u); err != nil {
		return nil, err
	}
	return u, nil
}

// put stores u, whose email key was oldKey, and keeps the key index.
func (s *Store) put(u *store.User, oldKey string) {
	if oldKey != "" && s.byKey[oldKey] == u.ID {
		delete(s.byKey, oldKey)
	}
	if u.EmailKey != "" {
		s.byKey[u.EmailKey] = u.ID
	}
	s.users[u.ID] = u
}

// checkEffects reports whether fx, for the user userID, can be applied: a
// token's hash is not another token's (unless fx deletes that one first),
// a mail's id is new.
func (s *Store) checkEffects(userID string, fx store.Effects) error {
	if t := fx.Token; t != nil {
		if old, ok := s.tokens[string(t.Hash)]; ok && !revokes(userID, fx, old) {
			return errors.New("a token with the same hash exists already")
		}
	}
	if fx.Mail != nil {
		if _, ok := s.mail[fx.Mail.ID]; ok {
			return fmt.Errorf("a mail with id %q exists already", fx.Mail.ID)
		}
	}
	return nil
}

// revokes reports whether applying fx for userID deletes the token old.
func revokes(userID string, fx store.Effects, old *store.Token) bool {
	if old.ConsumedAt != nil {
		return false
	}
	if old.UserID == userID && slices.Contains(fx.RevokeTokens, old.Purpose) {
		return true
	}
	return fx.Token != nil && old.UserID == fx.Token.UserID && old.Purpose == fx.Token.Purpose
}

// applyEffects writes fx for the user userID: the revocations, then the
// token after revoking the unconsumed tokens of the same user and purpose,
// the mail, the end of the user's sessions.
func (s *Store) applyEffects(userID string, fx store.Effects) {
	for k, old := range s.tokens {
		if revokes(userID, fx, old) {
			delete(s.tokens, k)
		}
	}
	if t := fx.Token; t != nil {
		c := copyToken(t)
		c.CreatedAt, c.ExpiresAt, c.ConsumedAt = norm(c.CreatedAt), norm(c.ExpiresAt), normPtr(c.ConsumedAt)
		s.tokens[string(c.Hash)] = c
	}
	if m := fx.Mail; m != nil {
		c := copyMail(m)
		c.CreatedAt, c.NextAttemptAt = norm(c.CreatedAt), norm(c.NextAttemptAt)
		c.LeaseUntil, c.SentAt = normPtr(c.LeaseUntil), normPtr(c.SentAt)
		s.mail[c.ID] = c
	}
	if fx.EndSessions {
		for id, sess := range s.sessions {
			if sess.UserID == userID {
				s.deleteSession(id)
			}
		}
	}
}

// keepsAdmin reports whether, with the users in changed replaced and those
// in gone deleted, an active user with admin access remains — or none
// existed before.
func (s *Store) keepsAdmin(changed map[string]*store.User, gone map[string]bool) bool {
	before, after := false, false
	for id, u := range s.users {
		if s.activeAdmin(u) {
			before = true
		}
		if gone[id] {
			continue
		}
		if c, ok := changed[id]; ok {
			u = c
		}
		if s.activeAdmin(u) {
			after = true
		}
		if after {
			return true
		}
	}
	return !before
}

// activeAdmin reports whether u is active and has admin access through its
// role or one of its policies.
func (s *Store) activeAdmin(u *store.User) bool {
	if u.Status != store.StatusActive {
		return false
	}
	if u.Role != nil {
		if r, ok := s.roles[*u.Role]; ok && r.AdminAccess {
			return true
		}
	}
	for _, id := range u.Policies {
		if p, ok := s.policies[id]; ok && p.AdminAccess {
			return true
		}
	}
	return false
}

// holds reports whether u satisfies cond (but for KeepAdmin, which is
// judged on the change).
func holds(u *store.User, cond store.Condition) bool {
	switch {
	case cond.Status != "" && u.Status != cond.Status,
		cond.Contested != nil && u.Contested != *cond.Contested,
		cond.EmailKey != nil && u.EmailKey != *cond.EmailKey,
		cond.PasswordHash != nil && u.PasswordHash != *cond.PasswordHash:
		return false
	}
	return true
}

// uniq returns ids without duplicates, in first-seen order.
func uniq(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// page applies an offset and a limit (0: no limit) to s.
func page[T any](s []T, offset, limit int) []T {
	if offset > 0 {
		s = s[min(offset, len(s)):]
	}
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	return s
}

func sortMail(ms []*store.Mail) {
	slices.SortFunc(ms, func(a, b *store.Mail) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}

// norm is how a time is stored: UTC, to the microsecond.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func normPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return new(norm(*t))
}

// copyUserIn is the record CreateUser stores: a deep copy of u, times
// normalised, metadata through JSON.
func copyUserIn(u *store.User) (*store.User, error) {
	c := copyUser(u)
	c.CreatedAt, c.UpdatedAt = norm(c.CreatedAt), norm(c.UpdatedAt)
	if u.Metadata != nil {
		meta, err := jsonCopy(u.Metadata)
		if err != nil {
			return nil, err
		}
		c.Metadata = meta
	}
	return c, nil
}

// copyUserOut is the record a getter returns: a deep copy.
func copyUserOut(u *store.User) *store.User { return copyUser(u) }

// copyUser returns a deep copy of u. Metadata must hold JSON values only
// (as stored ones do).
func copyUser(u *store.User) *store.User {
	c := *u
	if u.Role != nil {
		c.Role = new(*u.Role)
	}
	c.Policies = clonePolicies(u.Policies)
	if u.Metadata != nil {
		c.Metadata = copyJSONMap(u.Metadata)
	}
	return &c
}

func clonePolicies(p []string) []string {
	if len(p) == 0 {
		return nil
	}
	return slices.Clone(p)
}

func copyToken(t *store.Token) *store.Token {
	c := *t
	c.Hash = bytes.Clone(t.Hash)
	if t.ConsumedAt != nil {
		c.ConsumedAt = new(*t.ConsumedAt)
	}
	return &c
}

func copyMail(m *store.Mail) *store.Mail {
	c := *m
	if m.LeaseUntil != nil {
		c.LeaseUntil = new(*m.LeaseUntil)
	}
	if m.SentAt != nil {
		c.SentAt = new(*m.SentAt)
	}
	return &c
}

// jsonCopy returns m as it comes back from a JSON column.
func jsonCopy(m map[string]any) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return out, nil
}

// copyJSONMap deep-copies a map of JSON values.
func copyJSONMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = copyJSON(v)
	}
	return c
}

func copyJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyJSONMap(v)
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = copyJSON(e)
		}
		return c
	default:
		return v
	}
}
