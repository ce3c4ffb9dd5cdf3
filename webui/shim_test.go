// Temporary: a copy of store/memstore with the methods of the extended
// Store contract it lacks, until the memstore of the stores branch lands.

package webui_test

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

	"github.com/gousers/users"
)

// Store is an in-memory users.Store. The zero value is not usable: call
// New. A Store is safe for concurrent use.
type shimStore struct {
	mu       sync.Mutex
	users    map[string]*users.UserRecord  // by ID
	byKey    map[string]string             // EmailKey (not empty) → user ID
	tokens   map[string]*users.TokenRecord // by string(Hash)
	roles    map[string]*users.Role
	policies map[string]*users.Policy
	mail     map[string]*users.Mail
	settings []byte // nil until saved
	sessions map[string]*users.SessionRecord
}

// New returns an empty Store.
func newShim() *shimStore {
	return &shimStore{
		users:    make(map[string]*users.UserRecord),
		byKey:    make(map[string]string),
		tokens:   make(map[string]*users.TokenRecord),
		roles:    make(map[string]*users.Role),
		policies: make(map[string]*users.Policy),
		mail:     make(map[string]*users.Mail),
	}
}

// CreateUser implements users.Store.
func (s *shimStore) CreateUser(ctx context.Context, u *users.UserRecord, fx users.Effects) error {
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
	if err := s.checkEffects(fx); err != nil {
		return fmt.Errorf("memstore: create user: %w", err)
	}
	s.put(rec, "")
	s.applyEffects(fx)
	return nil
}

// GetUser implements users.Store.
func (s *shimStore) GetUser(ctx context.Context, id string) (*users.UserRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get user: %w", users.ErrNotFound)
	}
	return copyUserOut(u), nil
}

// GetUserByEmailKey implements users.Store. An empty key names no user.
func (s *shimStore) GetUserByEmailKey(ctx context.Context, key string) (*users.UserRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byKey[key]
	if key == "" || !ok {
		return nil, fmt.Errorf("memstore: get user by email: %w", users.ErrNotFound)
	}
	return copyUserOut(s.users[id]), nil
}

// ListUsers implements users.Store.
func (s *shimStore) listAll(ctx context.Context, q users.UserQuery) ([]*users.UserRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ids map[string]bool
	if len(q.IDs) > 0 {
		ids = make(map[string]bool, len(q.IDs))
		for _, id := range q.IDs {
			ids[id] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*users.UserRecord
	for _, u := range s.users {
		switch {
		case q.NoRole && u.Role != nil:
			continue
		case !q.NoRole && q.Role != nil && (u.Role == nil || *u.Role != *q.Role):
			continue
		case ids != nil && !ids[u.ID]:
			continue
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *users.UserRecord) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	out = shimPage(out, q.Offset, q.Limit)
	for i, u := range out {
		out[i] = copyUserOut(u)
	}
	return out, nil
}

// UpdateUser implements users.Store.
func (s *shimStore) UpdateUser(ctx context.Context, id string, cond users.Condition, ch users.UserChange, fx users.Effects) (*users.UserRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("memstore: update user: %w", users.ErrNotFound)
	}
	if !holds(cur, cond) {
		return nil, fmt.Errorf("memstore: update user: %w", users.ErrConflict)
	}
	next, err := s.changed(cur, ch)
	if err != nil {
		return nil, fmt.Errorf("memstore: update user: %w", err)
	}
	if err := s.checkEffects(fx); err != nil {
		return nil, fmt.Errorf("memstore: update user: %w", err)
	}
	s.put(next, cur.EmailKey)
	s.applyEffects(fx)
	return copyUserOut(next), nil
}

// UpdateUsers implements users.Store. A change of Email or EmailKey is
// refused: the contract forbids it, and one key cannot go to many users.
func (s *shimStore) UpdateUsers(ctx context.Context, ids []string, _ users.Condition, ch users.UserChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ch.Email != nil || ch.EmailKey != nil {
		return errors.New("memstore: update users: the email cannot be changed for many users at once")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make([]*users.UserRecord, 0, len(ids))
	for _, id := range ids {
		cur, ok := s.users[id]
		if !ok {
			return fmt.Errorf("memstore: update users: %w", users.ErrNotFound)
		}
		u, err := s.changed(cur, ch)
		if err != nil {
			return fmt.Errorf("memstore: update users: %w", err)
		}
		next = append(next, u)
	}
	for _, u := range next {
		s.put(u, u.EmailKey)
	}
	return nil
}

// ConsumeToken implements users.Store.
func (s *shimStore) ConsumeToken(ctx context.Context, hash []byte, purpose users.TokenPurpose, now time.Time, cond users.Condition, ch users.UserChange, fx users.Effects) (*users.UserRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now = norm(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[string(hash)]
	if !ok || tok.Purpose != purpose {
		return nil, fmt.Errorf("memstore: consume token: %w", users.ErrInvalidToken)
	}
	if tok.ConsumedAt != nil {
		return nil, fmt.Errorf("memstore: consume token: %w", users.ErrTokenUsed)
	}
	if !now.Before(tok.ExpiresAt) {
		return nil, fmt.Errorf("memstore: consume token: %w", users.ErrTokenExpired)
	}
	cur, ok := s.users[tok.UserID]
	if !ok {
		return nil, fmt.Errorf("memstore: consume token: %w", users.ErrInvalidToken)
	}
	if !holds(cur, cond) {
		return nil, fmt.Errorf("memstore: consume token: %w", users.ErrConflict)
	}
	next, err := s.changed(cur, ch)
	if err != nil {
		return nil, fmt.Errorf("memstore: consume token: %w", err)
	}
	if err := s.checkEffects(fx); err != nil {
		return nil, fmt.Errorf("memstore: consume token: %w", err)
	}
	tok.ConsumedAt = &now
	s.put(next, cur.EmailKey)
	s.applyEffects(fx)
	return copyUserOut(next), nil
}

// GetToken implements users.Store.
func (s *shimStore) GetToken(ctx context.Context, hash []byte) (*users.TokenRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[string(hash)]
	if !ok {
		return nil, fmt.Errorf("memstore: get token: %w", users.ErrNotFound)
	}
	return copyToken(tok), nil
}

// CreateRole implements users.Store. A role whose ID exists already is an
// error.
func (s *shimStore) CreateRole(ctx context.Context, r *users.Role) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[r.ID]; ok {
		return fmt.Errorf("memstore: create role: a role with id %q exists already", r.ID)
	}
	c := *r
	s.roles[r.ID] = &c
	return nil
}

// GetRole implements users.Store.
func (s *shimStore) GetRole(ctx context.Context, id string) (*users.Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get role: %w", users.ErrNotFound)
	}
	c := *r
	return &c, nil
}

// ListRoles implements users.Store.
func (s *shimStore) ListRoles(ctx context.Context) ([]*users.Role, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*users.Role, 0, len(s.roles))
	for _, r := range s.roles {
		c := *r
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *users.Role) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// CreatePolicy implements users.Store. A policy whose ID exists already is
// an error.
func (s *shimStore) CreatePolicy(ctx context.Context, p *users.Policy) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.policies[p.ID]; ok {
		return fmt.Errorf("memstore: create policy: a policy with id %q exists already", p.ID)
	}
	c := *p
	s.policies[p.ID] = &c
	return nil
}

// GetPolicy implements users.Store.
func (s *shimStore) GetPolicy(ctx context.Context, id string) (*users.Policy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get policy: %w", users.ErrNotFound)
	}
	c := *p
	return &c, nil
}

// ListPolicies implements users.Store.
func (s *shimStore) ListPolicies(ctx context.Context) ([]*users.Policy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*users.Policy, 0, len(s.policies))
	for _, p := range s.policies {
		c := *p
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *users.Policy) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Settings implements users.Store.
func (s *shimStore) Settings(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.settings), nil
}

// SaveSettings implements users.Store.
func (s *shimStore) SaveSettings(ctx context.Context, doc []byte) error {
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

// ClaimMail implements users.Store. A limit of zero or less claims
// nothing.
func (s *shimStore) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*users.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now, leaseUntil = norm(now), norm(leaseUntil)
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*users.Mail
	for _, m := range s.mail {
		if m.Status == users.MailPending && !m.NextAttemptAt.After(now) && (m.LeaseUntil == nil || !m.LeaseUntil.After(now)) {
			due = append(due, m)
		}
	}
	sortMail(due)
	due = due[:min(max(limit, 0), len(due))]
	out := make([]*users.Mail, len(due))
	for i, m := range due {
		m.LeaseUntil = &leaseUntil
		out[i] = copyMail(m)
	}
	return out, nil
}

// UpdateMail implements users.Store.
func (s *shimStore) UpdateMail(ctx context.Context, id string, u users.MailUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.mail[id]
	if !ok {
		return fmt.Errorf("memstore: update mail: %w", users.ErrNotFound)
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

// ListMail implements users.Store.
func (s *shimStore) ListMail(ctx context.Context, q users.MailQuery) ([]*users.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*users.Mail
	for _, m := range s.mail {
		if (q.Status == "" || m.Status == q.Status) && (q.To == "" || m.To == q.To) {
			out = append(out, m)
		}
	}
	sortMail(out)
	out = shimPage(out, 0, q.Limit)
	for i, m := range out {
		out[i] = copyMail(m)
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Helpers. Those with a Store receiver expect s.mu held.

// checkUser checks the uniqueness of rec's email key (against users other
// than rec) and the existence of its role and policies.
func (s *shimStore) checkUser(rec *users.UserRecord) error {
	if rec.EmailKey != "" {
		if id, ok := s.byKey[rec.EmailKey]; ok && id != rec.ID {
			return users.ErrDuplicateEmail
		}
	}
	if rec.Role != nil {
		if _, ok := s.roles[*rec.Role]; !ok {
			return users.ErrRoleNotFound
		}
	}
	for _, p := range rec.Policies {
		if _, ok := s.policies[p]; !ok {
			return users.ErrPolicyNotFound
		}
	}
	return nil
}

// changed returns a copy of cur with ch applied, checked with checkUser.
func (s *shimStore) changed(cur *users.UserRecord, ch users.UserChange) (*users.UserRecord, error) {
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
func (s *shimStore) put(u *users.UserRecord, oldKey string) {
	if oldKey != "" && s.byKey[oldKey] == u.ID {
		delete(s.byKey, oldKey)
	}
	if u.EmailKey != "" {
		s.byKey[u.EmailKey] = u.ID
	}
	s.users[u.ID] = u
}

// checkEffects reports whether fx can be applied.
func (s *shimStore) checkEffects(fx users.Effects) error {
	if fx.Mail != nil {
		if _, ok := s.mail[fx.Mail.ID]; ok {
			return fmt.Errorf("a mail with id %q exists already", fx.Mail.ID)
		}
	}
	return nil
}

// applyEffects writes fx: the token after revoking the unconsumed tokens of
// the same user and purpose, and the mail.
func (s *shimStore) applyEffects(fx users.Effects) {
	if t := fx.Token; t != nil {
		for k, old := range s.tokens {
			if old.UserID == t.UserID && old.Purpose == t.Purpose && old.ConsumedAt == nil {
				delete(s.tokens, k)
			}
		}
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
}

// holds reports whether u satisfies cond.
func holds(u *users.UserRecord, cond users.Condition) bool {
	if cond.Status != "" && u.Status != cond.Status {
		return false
	}
	if cond.Contested != nil && u.Contested != *cond.Contested {
		return false
	}
	return true
}

// page applies an offset and a limit (0: no limit) to s.
func shimPage[T any](s []T, offset, limit int) []T {
	if offset > 0 {
		s = s[min(offset, len(s)):]
	}
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	return s
}

func sortMail(ms []*users.Mail) {
	slices.SortFunc(ms, func(a, b *users.Mail) int {
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
func copyUserIn(u *users.UserRecord) (*users.UserRecord, error) {
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

// copyUserOut is the record a getter returns: a deep copy, HasPassword set.
func copyUserOut(u *users.UserRecord) *users.UserRecord {
	c := copyUser(u)
	c.HasPassword = c.PasswordHash != ""
	return c
}

// copyUser returns a deep copy of u. Metadata must hold JSON values only
// (as stored ones do).
func copyUser(u *users.UserRecord) *users.UserRecord {
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

func copyToken(t *users.TokenRecord) *users.TokenRecord {
	c := *t
	c.Hash = bytes.Clone(t.Hash)
	if t.ConsumedAt != nil {
		c.ConsumedAt = new(*t.ConsumedAt)
	}
	return &c
}

func copyMail(m *users.Mail) *users.Mail {
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

func (s *shimStore) ListUsers(ctx context.Context, q users.UserQuery) ([]*users.UserRecord, error) {
	lim, off := q.Limit, q.Offset
	q.Limit, q.Offset = 0, 0
	all, err := s.listAll(ctx, q)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, u := range all {
		if q.Search != "" {
			k := strings.ToLower(q.Search)
			if !strings.Contains(strings.ToLower(u.Email), k) && !strings.Contains(strings.ToLower(u.FirstName), k) && !strings.Contains(strings.ToLower(u.LastName), k) {
				continue
			}
		}
		if q.Filter != nil && !shimEval(q.Filter, u) {
			continue
		}
		out = append(out, u)
	}
	if len(q.Sort) > 0 && q.Sort[0].Field == users.FieldEmail {
		slices.SortFunc(out, func(a, b *users.UserRecord) int {
			return cmp.Or(strings.Compare(a.Email, b.Email), strings.Compare(a.ID, b.ID))
		})
	}
	return shimPage(out, off, lim), nil
}

func shimEval(f *users.UserFilter, u *users.UserRecord) bool {
	var v string
	switch f.Field {
	case users.FieldStatus:
		v = string(u.Status)
	case users.FieldRole:
		if u.Role != nil {
			v = *u.Role
		}
	case users.FieldEmail:
		v = u.Email
	}
	switch f.Op {
	case users.OpEq:
		return v != "" && v == f.Value
	case users.OpNeq:
		return v == "" || v != f.Value
	}
	panic("shim: filter")
}

func (s *shimStore) CountUsers(ctx context.Context, q users.UserQuery) (int, error) {
	q.Limit, q.Offset = 0, 0
	l, err := s.ListUsers(ctx, q)
	return len(l), err
}
func (s *shimStore) DeleteUsers(ctx context.Context, ids []string, cond users.Condition) error {
	return errors.New("shim")
}
func (s *shimStore) MailStats(ctx context.Context) (users.MailStats, error) {
	return users.MailStats{}, nil
}
func (s *shimStore) CreateSession(ctx context.Context, r *users.SessionRecord, cond users.Condition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[r.UserID]
	if !ok {
		return users.ErrNotFound
	}
	if (cond.Status != "" && u.Status != cond.Status) || (cond.PasswordHash != nil && u.PasswordHash != *cond.PasswordHash) {
		return users.ErrConflict
	}
	if s.sessions == nil {
		s.sessions = map[string]*users.SessionRecord{}
	}
	c := *r
	s.sessions[r.ID] = &c
	return nil
}
func (s *shimStore) GetSession(ctx context.Context, id string) (*users.SessionRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.sessions[id]
	if !ok {
		return nil, users.ErrNotFound
	}
	c := *r
	return &c, nil
}
func (s *shimStore) RotateSession(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, cond users.Condition) (*users.SessionRecord, *users.UserRecord, error) {
	return nil, nil, users.ErrInvalidToken
}
func (s *shimStore) DeleteSession(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[id]; !ok {
		return users.ErrNotFound
	}
	delete(s.sessions, id)
	return nil
}
func (s *shimStore) DeleteSessionByToken(ctx context.Context, hash []byte) error {
	return users.ErrNotFound
}
func (s *shimStore) PurgeExpired(ctx context.Context, before time.Time) (int, error) { return 0, nil }

var _ users.Store = (*shimStore)(nil)
