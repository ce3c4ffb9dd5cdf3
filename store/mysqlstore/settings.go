package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gousers/users/store/internal/sqlstore"
)

// Settings implements store.Store. Nothing is cached: every call reads the
// row, so a document saved by one instance is what the others read next.
func (s *Store) Settings(ctx context.Context) ([]byte, error) {
	var doc []byte
	err := s.do(ctx, "settings", func() error {
		err := s.ro.QueryRowContext(ctx, `SELECT doc FROM users_settings WHERE id = 1`).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			doc = nil
			return nil
		}
		if err == nil && doc == nil {
			doc = []byte{}
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
		_, err := s.db.ExecContext(ctx, `INSERT INTO users_settings (id, doc, updated_at) VALUES (1, ?, ?)
ON DUPLICATE KEY UPDATE doc = VALUES(doc), updated_at = VALUES(updated_at)`, doc, sqlstore.Micros(time.Now()))
		return err
	})
}
