package memstore

import (
	"bytes"
	"context"
)

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
