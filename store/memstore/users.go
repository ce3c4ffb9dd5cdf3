package memstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gousers/users/store"
)

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
	rec.TwoFactor = false // only CreateTwoFactor sets it
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
func (s *Store) UpdateUsers(ctx context.Context, ids []string, cond store.Condition, ch store.UserChange, events ...*store.Event) error {
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
	s.insertEvents(events)
	return nil
}

// DeleteUsers implements store.Store.
func (s *Store) DeleteUsers(ctx context.Context, ids []string, cond store.Condition, events ...*store.Event) error {
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
		delete(s.tfa, id)
	}
	s.insertEvents(events)
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
	s.insertEvents(fx.Events)
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

// activeAdmin reports whether u is active, has an email and has admin
// access through its role or one of its policies.
func (s *Store) activeAdmin(u *store.User) bool {
	if u.Status != store.StatusActive || u.EmailKey == "" {
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

// copyUserIn is the record CreateUser stores: a deep copy of u, times
// normalised, metadata through JSON.
func copyUserIn(u *store.User) (*store.User, error) {
	c := copyUser(u)
	c.CreatedAt, c.UpdatedAt = norm(c.CreatedAt), norm(c.UpdatedAt)
	c.LastAccess = nil // set by sessions only
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
