package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/mattn/go-sqlite3"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// CreateTwoFactor implements [store.Store].
func (s *Store) CreateTwoFactor(ctx context.Context, userID string, tf store.TwoFactorRecord, codes [][]byte) error {
	return s.write(ctx, "create two-factor", func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO users_tfa (user_id, secret, last_step, created_at) VALUES (?, ?, ?, ?)`,
			userID, tf.Secret, tf.LastStep, sqlstore.Micros(tf.CreatedAt))
		switch {
		case constraint(err, sqlite3.ErrConstraintPrimaryKey, ""):
			return store.ErrConflict
		case constraint(err, sqlite3.ErrConstraintForeignKey, ""):
			return store.ErrNotFound
		case err != nil:
			return err
		}
		return insertRecoveryCodes(ctx, q, userID, codes)
	})
}

func insertRecoveryCodes(ctx context.Context, q querier, userID string, codes [][]byte) error {
	for _, c := range codes {
		if _, err := q.exec(ctx, `INSERT INTO users_recovery_codes (user_id, hash) VALUES (?, ?) ON CONFLICT DO NOTHING`, userID, c); err != nil {
			return err
		}
	}
	return nil
}

// GetTwoFactor implements [store.Store].
func (s *Store) GetTwoFactor(ctx context.Context, userID string) (*store.TwoFactorRecord, error) {
	var (
		rec     store.TwoFactorRecord
		created int64
	)
	err := s.read().queryRow(ctx, `SELECT secret, last_step, created_at,
	(SELECT count(*) FROM users_recovery_codes WHERE user_id = users_tfa.user_id)
	FROM users_tfa WHERE user_id = ?`, func(rows *sql.Rows) error {
		return rows.Scan(&rec.Secret, &rec.LastStep, &created, &rec.RecoveryCodes)
	}, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, "get two-factor", err)
	}
	rec.CreatedAt = sqlstore.FromMicros(created)
	return &rec, nil
}

// DeleteTwoFactor implements [store.Store].
func (s *Store) DeleteTwoFactor(ctx context.Context, userID string) error {
	return s.writeOne(ctx, "delete two-factor", func(q querier) error {
		// The recovery codes go with it (ON DELETE CASCADE).
		return one(q.exec(ctx, `DELETE FROM users_tfa WHERE user_id = ?`, userID))
	})
}

// ClaimTOTPStep implements [store.Store].
func (s *Store) ClaimTOTPStep(ctx context.Context, userID string, step int64) error {
	return s.write(ctx, "claim TOTP step", func(q querier) error {
		n, err := sqlstore.Affected(q.exec(ctx, `UPDATE users_tfa SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, userID, step))
		if err != nil || n == 1 {
			return err
		}
		var one int
		if err := q.queryRow(ctx, `SELECT 1 FROM users_tfa WHERE user_id = ?`, func(rows *sql.Rows) error { return rows.Scan(&one) }, userID); errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return store.ErrConflict
	})
}

// ConsumeRecoveryCode implements [store.Store].
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	return s.writeOne(ctx, "consume recovery code", func(q querier) error {
		return one(q.exec(ctx, `DELETE FROM users_recovery_codes WHERE user_id = ? AND hash = ?`, userID, hash))
	})
}

// ReplaceRecoveryCodes implements [store.Store].
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	return s.write(ctx, "replace recovery codes", func(q querier) error {
		// The first statement writes (see write): a no-op update that
		// tells whether the second factor exists.
		if err := one(q.exec(ctx, `UPDATE users_tfa SET last_step = last_step WHERE user_id = ?`, userID)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM users_recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		return insertRecoveryCodes(ctx, q, userID, codes)
	})
}

// one turns a write that touched no row into ErrNotFound.
func one(res sql.Result, err error) error {
	n, err := sqlstore.Affected(res, err)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}
