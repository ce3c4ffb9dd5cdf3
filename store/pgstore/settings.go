package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Settings implements store.Store. Nothing is cached: every call reads the
// row, so a document saved by one instance is what the others read next.
func (s *Store) Settings(ctx context.Context) ([]byte, error) {
	var doc []byte
	err := s.do(ctx, "settings", func() error {
		err := s.pool.QueryRow(ctx, s.q.getSettings).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			doc = nil
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// SaveSettings implements store.Store. A nil doc is saved as an empty one.
func (s *Store) SaveSettings(ctx context.Context, doc []byte) error {
	if doc == nil {
		doc = []byte{}
	}
	return s.do(ctx, "save settings", func() error {
		_, err := s.pool.Exec(ctx, s.q.saveSettings, doc)
		return err
	})
}
