package memstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gousers/users/store"
)

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

// GetTokenUser implements store.Store.
func (s *Store) GetTokenUser(ctx context.Context, hash []byte) (*store.Token, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[string(hash)]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: get token: %w", store.ErrNotFound)
	}
	u, ok := s.users[tok.UserID]
	if !ok {
		return nil, nil, fmt.Errorf("memstore: get token: its user: %w", store.ErrNotFound)
	}
	return copyToken(tok), copyUserOut(u), nil
}

func copyToken(t *store.Token) *store.Token {
	c := *t
	c.Hash = bytes.Clone(t.Hash)
	if t.ConsumedAt != nil {
		c.ConsumedAt = new(*t.ConsumedAt)
	}
	return &c
}
