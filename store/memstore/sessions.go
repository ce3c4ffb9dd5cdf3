package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// CreateSession implements store.Store.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session, cond store.Condition, events ...*store.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[sess.UserID]
	if !ok {
		return fmt.Errorf("memstore: create session: %w", store.ErrNotFound)
	}
	if !holds(u, cond) {
		return fmt.Errorf("memstore: create session: %w", store.ErrConflict)
	}
	if _, ok := s.sessions[sess.ID]; ok {
		return errors.New("memstore: create session: a session with this id exists already")
	}
	if s.hashInUse(sess.TokenHash) {
		return errors.New("memstore: create session: the token hash is in use")
	}
	c := copySession(sess)
	c.CreatedAt, c.RefreshedAt, c.ExpiresAt = norm(c.CreatedAt), norm(c.RefreshedAt), norm(c.ExpiresAt)
	s.sessions[c.ID] = c
	s.current[string(c.TokenHash)] = c.ID
	s.touch(u.ID, c.CreatedAt)
	s.insertEvents(events)
	return nil
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return nil, fmt.Errorf("memstore: get session: %w", store.ErrNotFound)
	}
	return copySession(sess), nil
}

// RotateSession implements store.Store.
func (s *Store) RotateSession(ctx context.Context, oldHash, newHash []byte, now, expiresAt time.Time, cond store.Condition) (*store.Session, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.current[string(oldHash)]
	if !ok {
		if id, ok := s.earlier[string(oldHash)]; ok {
			s.deleteSession(id)
			return nil, nil, fmt.Errorf("memstore: rotate session: %w", store.ErrTokenReused)
		}
		return nil, nil, fmt.Errorf("memstore: rotate session: %w", store.ErrInvalidToken)
	}
	sess := s.sessions[id]
	if !norm(now).Before(sess.ExpiresAt) {
		return nil, nil, fmt.Errorf("memstore: rotate session: %w", store.ErrTokenExpired)
	}
	u, ok := s.users[sess.UserID]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: rotate session: %w", store.ErrInvalidToken)
	}
	if !holds(u, cond) {
		return nil, nil, fmt.Errorf("memstore: rotate session: %w", store.ErrConflict)
	}
	if s.hashInUse(newHash) {
		return nil, nil, errors.New("memstore: rotate session: the new token hash is in use")
	}
	old := string(sess.TokenHash)
	delete(s.current, old)
	s.earlier[old] = id
	s.earlierOf[id] = append(s.earlierOf[id], old)
	sess.TokenHash = bytes.Clone(newHash)
	sess.RefreshedAt, sess.ExpiresAt = norm(now), norm(expiresAt)
	s.current[string(sess.TokenHash)] = id
	s.touch(u.ID, sess.RefreshedAt)
	return copySession(sess), copyUserOut(s.users[u.ID]), nil
}

// RenewSession implements store.Store.
func (s *Store) RenewSession(ctx context.Context, id string, generation int64, now time.Time, grace time.Duration, cond store.Condition) (*store.Session, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	now = norm(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: renew session: %w", store.ErrNotFound)
	}
	advance := generation == sess.Generation
	if !advance && (generation != sess.Generation-1 || !now.Before(sess.RefreshedAt.Add(grace))) {
		s.deleteSession(id)
		return nil, nil, fmt.Errorf("memstore: renew session: %w", store.ErrTokenReused)
	}
	if !now.Before(sess.ExpiresAt) {
		return nil, nil, fmt.Errorf("memstore: renew session: %w", store.ErrTokenExpired)
	}
	u, ok := s.users[sess.UserID]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: renew session: %w", store.ErrNotFound)
	}
	if !holds(u, cond) {
		return nil, nil, fmt.Errorf("memstore: renew session: %w", store.ErrConflict)
	}
	if advance {
		sess.Generation++
		sess.RefreshedAt = now
		s.touch(u.ID, now)
	}
	return copySession(sess), copyUserOut(s.users[u.ID]), nil
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, id string, events ...*store.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[id]; !ok {
		return fmt.Errorf("memstore: delete session: %w", store.ErrNotFound)
	}
	s.fillEventUser(events, s.sessions[id].UserID)
	s.deleteSession(id)
	s.insertEvents(events)
	return nil
}

// DeleteSessionByToken implements store.Store.
func (s *Store) DeleteSessionByToken(ctx context.Context, hash []byte, events ...*store.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.current[string(hash)]
	if !ok {
		id, ok = s.earlier[string(hash)]
	}
	if !ok {
		return fmt.Errorf("memstore: delete session: %w", store.ErrNotFound)
	}
	s.fillEventUser(events, s.sessions[id].UserID)
	s.deleteSession(id)
	s.insertEvents(events)
	return nil
}

// touch sets the user's LastAccess, replacing the record (copies handed
// out keep theirs).
func (s *Store) touch(id string, at time.Time) {
	if u, ok := s.users[id]; ok {
		c := *u
		c.LastAccess = &at
		s.users[id] = &c
	}
}

// fillEventUser gives the events without an Item the user userID.
func (s *Store) fillEventUser(events []*store.Event, userID string) {
	u, ok := s.users[userID]
	if !ok {
		return
	}
	for _, e := range events {
		if e.Item == "" {
			e.Item, e.Email, e.Role = u.ID, u.Email, ""
			if u.Role != nil {
				e.Role = *u.Role
			}
			if e.Actor == "" {
				e.Actor = u.ID
			}
		}
	}
}

// PurgeExpired implements store.Store.
func (s *Store) PurgeExpired(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	before = norm(before)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sess := range s.sessions {
		if !sess.ExpiresAt.After(before) {
			s.deleteSession(id)
			n++
		}
	}
	for k, t := range s.tokens {
		if !t.ExpiresAt.After(before) {
			delete(s.tokens, k)
			n++
		}
	}
	return n, nil
}

// deleteSession deletes the session id and its hashes. s.mu is held.
func (s *Store) deleteSession(id string) {
	sess, ok := s.sessions[id]
	if !ok {
		return
	}
	delete(s.current, string(sess.TokenHash))
	for _, h := range s.earlierOf[id] {
		delete(s.earlier, h)
	}
	delete(s.earlierOf, id)
	delete(s.sessions, id)
}

// hashInUse reports whether a session holds hash, current or earlier.
func (s *Store) hashInUse(hash []byte) bool {
	_, cur := s.current[string(hash)]
	_, old := s.earlier[string(hash)]
	return cur || old
}

func copySession(sess *store.Session) *store.Session {
	c := *sess
	c.TokenHash = bytes.Clone(sess.TokenHash)
	return &c
}

// ResolveSession implements store.Store.
func (s *Store) ResolveSession(ctx context.Context, id string) (*store.Session, *store.User, store.Grants, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, store.Grants{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return nil, nil, store.Grants{}, fmt.Errorf("memstore: resolve session: %w", store.ErrNotFound)
	}
	u, ok := s.users[sess.UserID]
	if !ok {
		return nil, nil, store.Grants{}, fmt.Errorf("memstore: resolve session: %w", store.ErrNotFound)
	}
	var g store.Grants
	if u.Role != nil {
		if r, ok := s.roles[*u.Role]; ok {
			g.AdminAccess, g.EnforceTFA = r.AdminAccess, r.EnforceTFA
		}
	}
	for _, p := range u.Policies {
		if pol, ok := s.policies[p]; ok {
			g.AdminAccess = g.AdminAccess || pol.AdminAccess
			g.EnforceTFA = g.EnforceTFA || pol.EnforceTFA
		}
	}
	return copySession(sess), copyUserOut(u), g, nil
}

// ListSessions implements store.Store.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*store.Session
	for _, sess := range s.sessions {
		if sess.UserID == userID {
			list = append(list, copySession(sess))
		}
	}
	slices.SortFunc(list, func(a, b *store.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return list, nil
}
