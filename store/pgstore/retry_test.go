package pgstore_test

// The Store retries an operation that failed with a serialization failure
// (SQLSTATE 40001) or a deadlock (40P01). These tests make those errors
// happen for certain — a real serialization failure forced with a lock the
// test holds, and injected ones from a trigger — and check both sides:
// with retries the callers get the contract's answers, with WithRetries(0)
// they get the database's error, so the first result is the retries' doing.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
	"github.com/gousers/users/store/pgstore"
)

// sqlState returns err's SQLSTATE, "" when it has none.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// appName returns a unique application_name, by which the test finds its
// own backends in pg_stat_activity.
func appName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "pgstore-retry-" + hex.EncodeToString(b[:])
}

// waitForLockWaits waits until n backends of app wait on a lock, or fails
// the test after a deadline.
func waitForLockWaits(t *testing.T, pool *pgxpool.Pool, app string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		require.NoError(t, pool.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&waiting))
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, %d of %d store calls wait on the lock the test holds", waiting, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two ConsumeToken calls of one token on a pool whose transactions are
// REPEATABLE READ both take their snapshot, then wait on the user's row,
// which the test's own transaction has updated and not committed. When the
// test commits, both fail with "could not serialize access due to
// concurrent update" (40001). With retries, one consumes the token and the
// other finds it used; without, both callers see 40001.
func TestRetrySerializationFailure(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		retries []pgstore.Option
	}{
		{"Retries", nil},
		{"NoRetries", []pgstore.Option{pgstore.WithRetries(0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			schema := newSchema(t)
			app := appName()
			pool := newPoolWith(t, schema, map[string]string{
				"default_transaction_isolation": "repeatable read",
				"application_name":              app,
			})
			s, err := pgstore.New(ctx, pool, c.retries...)
			require.NoError(t, err)
			u := user("u", "u@example.com")
			u.Status = store.StatusUnverified
			tok := &store.Token{Hash: hashOf("tok"), Purpose: store.PurposeVerifyEmail, UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			require.NoError(t, s.CreateUser(ctx, u, store.Effects{Token: tok}))

			// The barrier: an uncommitted update of the user's row, from
			// a pool of the test's own (another application_name).
			blocker, err := newPool(t, schema).Begin(ctx)
			require.NoError(t, err)
			defer blocker.Rollback(ctx)
			_, err = blocker.Exec(ctx, `UPDATE users_users SET first_name = 'Blocker' WHERE id = 'u'`)
			require.NoError(t, err)

			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() {
					_, errs[i] = s.ConsumeToken(ctx, tok.Hash, store.PurposeVerifyEmail, t0, store.Condition{},
						store.UserChange{Status: ptr(store.StatusActive), FirstName: ptr(fmt.Sprint("winner-", i)), UpdatedAt: t0}, store.Effects{})
				})
			}
			waitForLockWaits(t, pool, app, 2)
			require.NoError(t, blocker.Commit(ctx))
			wg.Wait()

			if c.retries == nil {
				// A serialization failure must be retried: the loser sees
				// the token used.
				wins := testkit.Wins(t, "ConsumeToken", errs, store.ErrTokenUsed)
				assert.Equal(t, 1, wins, "exactly one ConsumeToken succeeds")
				got, err := s.GetUser(ctx, "u")
				require.NoError(t, err)
				assert.Equal(t, store.StatusActive, got.Status)
				assert.Contains(t, got.FirstName, "winner-", "the winner's change is applied over the blocker's")
				return
			}
			for i, err := range errs {
				assert.Equal(t, "40001", sqlState(err), "call %d without retries: %v; want the serialization failure the test forced", i, err)
			}
			got, err := s.GetToken(ctx, tok.Hash)
			require.NoError(t, err)
			assert.Nil(t, got.ConsumedAt, "a call that failed consumed the token")
		})
	}
}

// failFirst makes the first n statements that fire a trigger on table
// (event: INSERT or UPDATE) fail with SQLSTATE code: a sequence, which a
// rollback does not undo, counts them.
func failFirst(t *testing.T, pool *pgxpool.Pool, table, event string, n int, code string) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("fail_%s_%s_%s", table, event, code)
	_, err := pool.Exec(ctx, fmt.Sprintf(`
CREATE OR REPLACE FUNCTION test_fail_first() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF nextval(TG_ARGV[0]::regclass) <= TG_ARGV[1]::int THEN
		RAISE EXCEPTION 'injected failure' USING ERRCODE = TG_ARGV[2];
	END IF;
	RETURN NEW;
END $$;
CREATE SEQUENCE %[1]s_seq;
CREATE TRIGGER %[1]s BEFORE %[2]s ON %[3]s FOR EACH ROW
	EXECUTE FUNCTION test_fail_first('%[1]s_seq', '%[4]d', '%[5]s');`, name, event, table, n, code))
	require.NoError(t, err)
}

// Serialization failures and deadlocks injected into the statements of
// several operations: with retries each operation succeeds as if nothing
// happened; without, it returns the database's error and writes nothing.
func TestRetryInjectedFailures(t *testing.T) {
	t.Parallel()
	type op struct {
		name   string
		table  string // where the failure is injected
		event  string
		run    func(ctx context.Context, s *pgstore.Store) error
		undone func(t *testing.T, s *pgstore.Store) // checks nothing was written
	}
	ops := []op{
		{"ConsumeToken", "users_tokens", "UPDATE",
			func(ctx context.Context, s *pgstore.Store) error {
				_, err := s.ConsumeToken(ctx, hashOf("tok"), store.PurposeVerifyEmail, t0, store.Condition{},
					store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: t0}, store.Effects{Mail: mail("m1", "u", "u@example.com", t0)})
				return err
			},
			func(t *testing.T, s *pgstore.Store) {
				tok, err := s.GetToken(context.Background(), hashOf("tok"))
				require.NoError(t, err)
				assert.Nil(t, tok.ConsumedAt)
				ms, err := s.ListMail(context.Background(), store.MailQuery{})
				require.NoError(t, err)
				assert.Empty(t, ms)
			}},
		{"CreateUser", "users_users", "INSERT",
			func(ctx context.Context, s *pgstore.Store) error {
				return s.CreateUser(ctx, user("v", "v@example.com"), store.Effects{})
			},
			func(t *testing.T, s *pgstore.Store) {
				_, err := s.GetUser(context.Background(), "v")
				assert.ErrorIs(t, err, store.ErrNotFound)
			}},
		{"RotateSession", "users_sessions", "UPDATE",
			func(ctx context.Context, s *pgstore.Store) error {
				_, _, err := s.RotateSession(ctx, hashOf("s0"), hashOf("s1"), t0, t0.Add(time.Hour), store.Condition{})
				return err
			},
			func(t *testing.T, s *pgstore.Store) {
				got, err := s.GetSession(context.Background(), "s")
				require.NoError(t, err)
				assert.Equal(t, hashOf("s0"), got.TokenHash)
			}},
		{"RenewSession", "users_sessions", "UPDATE",
			func(ctx context.Context, s *pgstore.Store) error {
				_, _, err := s.RenewSession(ctx, "s", 0, t0, 10*time.Second, store.Condition{})
				return err
			},
			func(t *testing.T, s *pgstore.Store) {
				got, err := s.GetSession(context.Background(), "s")
				require.NoError(t, err)
				assert.Zero(t, got.Generation)
			}},
	}
	for _, code := range []string{"40001", "40P01"} {
		for _, o := range ops {
			for _, retries := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/retries=%v", code, o.name, retries)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					ctx := context.Background()
					schema := newSchema(t)
					pool := newPool(t, schema)
					var opts []pgstore.Option
					if !retries {
						opts = append(opts, pgstore.WithRetries(0))
					}
					s, err := pgstore.New(ctx, pool, opts...)
					require.NoError(t, err)
					u := user("u", "u@example.com")
					u.Status = store.StatusUnverified
					tok := &store.Token{Hash: hashOf("tok"), Purpose: store.PurposeVerifyEmail, UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
					require.NoError(t, s.CreateUser(ctx, u, store.Effects{Token: tok}))
					require.NoError(t, s.CreateSession(ctx, &store.Session{ID: "s", UserID: "u", TokenHash: hashOf("s0"),
						CreatedAt: t0, RefreshedAt: t0, ExpiresAt: t0.Add(time.Hour)}, store.Condition{}))

					failFirst(t, pool, o.table, o.event, 2, code)
					err = o.run(ctx, s)
					if retries {
						require.NoError(t, err, "two injected %s failures, then success: the store must retry", code)
						return
					}
					assert.Equal(t, code, sqlState(err), "without retries the caller sees the injected failure: %v", err)
					o.undone(t, s)
				})
			}
		}
	}
}
