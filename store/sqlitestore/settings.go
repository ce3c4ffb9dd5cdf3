package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
)

// Settings implements [store.Store].
func (s *Store) Settings(ctx context.Context) ([]byte, error) {
	var doc []byte
	err := s.read().queryRow(ctx, `SELECT doc FROM users_settings WHERE id = 1`,
		func(rows *sql.Rows) error { return rows.Scan(&doc) })
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(ctx, "settings", err)
	}
	if doc == nil {
		doc = []byte{} // saved, and empty
	}
	return doc, nil
}

// SaveSettings implements [store.Store].
func (s *Store) SaveSettings(ctx context.Context, doc []byte) error {
	if doc == nil {
		doc = []byte{}
	}
	return s.writeOne(ctx, "save settings", func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO users_settings (id, doc) VALUES (1, ?)
	ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, doc)
		return err
	})
}
