package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// CreateTwoFactor implements store.Store, in one transaction.
func (s *Store) CreateTwoFactor(ctx context.Context, userID string, tf store.TwoFactorRecord, codes [][]byte) error {
	return s.do(ctx, "create two-factor", func() error {
		return inTx(ctx, s.db, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO users_tfa (user_id, secret, last_step, created_at) VALUES (?, ?, ?, ?)`,
				userID, tf.Secret, tf.LastStep, sqlstore.Micros(tf.CreatedAt))
			if me := mysqlErr(err); me != nil {
				switch me.Number {
				case erDupEntry:
					return store.ErrConflict
				case erNoReferenced, erNoReferencedOld:
					return store.ErrNotFound
				}
			}
			if err != nil {
				return err
			}
			return insertRecoveryCodes(ctx, tx, userID, codes)
		})
	})
}

// insertRecoveryCodes inserts the hashes in one statement.
func insertRecoveryCodes(ctx context.Context, tx *sql.Tx, userID string, codes [][]byte) error {
	if len(codes) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(codes))
	for _, c := range codes {
		args = append(args, userID, c)
	}
	_, err := tx.ExecContext(ctx, `INSERT IGNORE INTO users_recovery_codes (user_id, hash) VALUES `+
		strings.TrimSuffix(strings.Repeat("(?, ?), ", len(codes)), ", "), args...)
	return err
}

// GetTwoFactor implements store.Store.
func (s *Store) GetTwoFactor(ctx context.Context, userID string) (*store.TwoFactorRecord, error) {
	return read(ctx, s, "get two-factor", func() (*store.TwoFactorRecord, error) {
		var (
			rec     store.TwoFactorRecord
			created int64
		)
		err := s.db.QueryRowContext(ctx, `SELECT secret, last_step, created_at,
	(SELECT COUNT(*) FROM users_recovery_codes c WHERE c.user_id = t.user_id)
FROM users_tfa t WHERE t.user_id = ?`, userID).Scan(&rec.Secret, &rec.LastStep, &created, &rec.RecoveryCodes)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		rec.CreatedAt = sqlstore.FromMicros(created)
		return &rec, nil
	})
}

// DeleteTwoFactor implements store.Store. The recovery codes go with it
// (ON DELETE CASCADE).
func (s *Store) DeleteTwoFactor(ctx context.Context, userID string) error {
	return s.do(ctx, "delete two-factor", func() error {
		return oneRow(s.db.ExecContext(ctx, `DELETE FROM users_tfa WHERE user_id = ?`, userID))
	})
}

// ClaimTOTPStep implements store.Store. Concurrent claims of one step
// queue on the row's lock; the later ones then read the new last_step and
// update nothing.
func (s *Store) ClaimTOTPStep(ctx context.Context, userID string, step int64) error {
	return s.do(ctx, "claim TOTP step", func() error {
		n, err := sqlstore.Affected(s.db.ExecContext(ctx, `UPDATE users_tfa SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, userID, step))
		if err != nil || n == 1 {
			return err
		}
		var one int
		err = s.db.QueryRowContext(ctx, `SELECT 1 FROM users_tfa WHERE user_id = ?`, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return store.ErrConflict
	})
}

// ConsumeRecoveryCode implements store.Store.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	return s.do(ctx, "consume recovery code", func() error {
		return oneRow(s.db.ExecContext(ctx, `DELETE FROM users_recovery_codes WHERE user_id = ? AND hash = ?`, userID, hash))
	})
}

// ReplaceRecoveryCodes implements store.Store. The second factor's row is
// locked first, so that a concurrent removal waits or is seen.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	return s.do(ctx, "replace recovery codes", func() error {
		return inTx(ctx, s.db, func(tx *sql.Tx) error {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM users_tfa WHERE user_id = ? FOR UPDATE`, userID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM users_recovery_codes WHERE user_id = ?`, userID); err != nil {
				return err
			}
			return insertRecoveryCodes(ctx, tx, userID, codes)
		})
	})
}

// oneRow turns a statement that touched no row into ErrNotFound.
func oneRow(res sql.Result, err error) error {
	n, err := sqlstore.Affected(res, err)
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return err
}
