package memstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gousers/users/store"
)

// tfaState is a user's second factor: the record and its recovery codes'
// hashes.
type tfaState struct {
	rec   store.TwoFactorRecord
	codes map[string]bool // by string(hash)
}

// CreateTwoFactor implements store.Store.
func (s *Store) CreateTwoFactor(ctx context.Context, userID string, tf store.TwoFactorRecord, codes [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return fmt.Errorf("memstore: create two-factor: %w", store.ErrNotFound)
	}
	if _, ok := s.tfa[userID]; ok {
		return fmt.Errorf("memstore: create two-factor: %w", store.ErrConflict)
	}
	st := &tfaState{rec: tf, codes: hashSet(codes)}
	st.rec.Secret = bytes.Clone(tf.Secret)
	st.rec.CreatedAt = norm(tf.CreatedAt)
	st.rec.RecoveryCodes = 0
	s.tfa[userID] = st
	u.TwoFactor = true
	return nil
}

// GetTwoFactor implements store.Store.
func (s *Store) GetTwoFactor(ctx context.Context, userID string) (*store.TwoFactorRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tfa[userID]
	if !ok {
		return nil, fmt.Errorf("memstore: get two-factor: %w", store.ErrNotFound)
	}
	rec := st.rec
	rec.Secret = bytes.Clone(st.rec.Secret)
	rec.RecoveryCodes = len(st.codes)
	return &rec, nil
}

// DeleteTwoFactor implements store.Store.
func (s *Store) DeleteTwoFactor(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tfa[userID]; !ok {
		return fmt.Errorf("memstore: delete two-factor: %w", store.ErrNotFound)
	}
	delete(s.tfa, userID)
	if u, ok := s.users[userID]; ok {
		u.TwoFactor = false
	}
	return nil
}

// ClaimTOTPStep implements store.Store.
func (s *Store) ClaimTOTPStep(ctx context.Context, userID string, step int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tfa[userID]
	if !ok {
		return fmt.Errorf("memstore: claim TOTP step: %w", store.ErrNotFound)
	}
	if step <= st.rec.LastStep {
		return fmt.Errorf("memstore: claim TOTP step: %w", store.ErrConflict)
	}
	st.rec.LastStep = step
	return nil
}

// ConsumeRecoveryCode implements store.Store.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tfa[userID]
	if !ok || !st.codes[string(hash)] {
		return fmt.Errorf("memstore: consume recovery code: %w", store.ErrNotFound)
	}
	delete(st.codes, string(hash))
	return nil
}

// ReplaceRecoveryCodes implements store.Store.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tfa[userID]
	if !ok {
		return fmt.Errorf("memstore: replace recovery codes: %w", store.ErrNotFound)
	}
	st.codes = hashSet(codes)
	return nil
}

func hashSet(codes [][]byte) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[string(c)] = true
	}
	return m
}
