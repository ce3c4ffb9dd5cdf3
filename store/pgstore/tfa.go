package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gousers/users/store"
)

// CreateTwoFactor implements store.Store. The second factor and its codes
// go in one batch: one implicit transaction.
func (s *Store) CreateTwoFactor(ctx context.Context, userID string, tf store.TwoFactorRecord, codes [][]byte) error {
	return s.do(ctx, "create two-factor", func() error {
		b := &pgx.Batch{}
		b.Queue(s.qual(`INSERT INTO users_tfa (user_id, secret, last_step, created_at) VALUES ($1, $2, $3, $4)`),
			userID, tf.Secret, tf.LastStep, tf.CreatedAt.UTC())
		b.Queue(s.qual(`INSERT INTO users_recovery_codes (user_id, hash)
SELECT $1, h FROM unnest($2::bytea[]) AS h ON CONFLICT DO NOTHING`), userID, codes)
		err := s.sendBatch(ctx, b)
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe) && pe.Code == "23505":
			return store.ErrConflict
		case errors.As(err, &pe) && pe.Code == "23503" && pe.ConstraintName == "users_tfa_user_fkey":
			return store.ErrNotFound
		}
		return err
	})
}

// GetTwoFactor implements store.Store.
func (s *Store) GetTwoFactor(ctx context.Context, userID string) (*store.TwoFactorRecord, error) {
	return queryOne(ctx, s, "get two-factor", s.qual(`SELECT secret, last_step, created_at,
	(SELECT count(*) FROM users_recovery_codes c WHERE c.user_id = t.user_id)
FROM users_tfa t WHERE t.user_id = $1`), func(row pgx.Row) (*store.TwoFactorRecord, error) {
		var rec store.TwoFactorRecord
		err := row.Scan(&rec.Secret, &rec.LastStep, &rec.CreatedAt, &rec.RecoveryCodes)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		rec.CreatedAt = rec.CreatedAt.UTC()
		return &rec, err
	}, userID)
}

// DeleteTwoFactor implements store.Store. The recovery codes go with it
// (ON DELETE CASCADE).
func (s *Store) DeleteTwoFactor(ctx context.Context, userID string) error {
	return s.do(ctx, "delete two-factor", func() error {
		return one(s.pool.Exec(ctx, s.qual(`DELETE FROM users_tfa WHERE user_id = $1`), userID))
	})
}

// ClaimTOTPStep implements store.Store. Concurrent claims of one step
// queue on the row's lock; the later ones then re-check last_step and
// update nothing.
func (s *Store) ClaimTOTPStep(ctx context.Context, userID string, step int64) error {
	return s.do(ctx, "claim TOTP step", func() error {
		var claimed, exists bool
		err := s.pool.QueryRow(ctx, s.qual(`WITH c AS (
	UPDATE users_tfa SET last_step = $2 WHERE user_id = $1 AND last_step < $2 RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM c), EXISTS (SELECT 1 FROM users_tfa WHERE user_id = $1)`), userID, step).Scan(&claimed, &exists)
		switch {
		case err != nil:
			return err
		case claimed:
			return nil
		case !exists:
			return store.ErrNotFound
		}
		return store.ErrConflict
	})
}

// ConsumeRecoveryCode implements store.Store.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	return s.do(ctx, "consume recovery code", func() error {
		return one(s.pool.Exec(ctx, s.qual(`DELETE FROM users_recovery_codes WHERE user_id = $1 AND hash = $2`), userID, hash))
	})
}

// ReplaceRecoveryCodes implements store.Store. The second factor's row is
// locked first, so that a concurrent removal waits or is seen.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	return s.do(ctx, "replace recovery codes", func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var one int
			err := tx.QueryRow(ctx, s.qual(`SELECT 1 FROM users_tfa WHERE user_id = $1 FOR UPDATE`), userID).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, s.qual(`DELETE FROM users_recovery_codes WHERE user_id = $1`), userID); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, s.qual(`INSERT INTO users_recovery_codes (user_id, hash)
SELECT $1, h FROM unnest($2::bytea[]) AS h ON CONFLICT DO NOTHING`), userID, codes)
			return err
		})
	})
}

// one turns a statement that touched no row into ErrNotFound.
func one(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return err
}
