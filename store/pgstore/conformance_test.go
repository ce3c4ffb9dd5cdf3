package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/storetest"
)

// TestConformance runs the store.Store contract suite on a schema of its
// own. The suite runs its sub-tests one after the other, so they share the
// schema, emptied before each: migrating a fresh schema per sub-test would
// triple the run time and check nothing more (TestMultiMigrateOnce and
// every other test here migrate fresh schemas).
//
// It runs beside TestConformanceICUDatabase (t.Parallel): each has a
// schema or database of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	pool := newPool(t, schema)
	s, err := pgstore.New(context.Background(), pool)
	require.NoError(t, err)
	storetest.Run(t, func(t *testing.T) store.Store {
		_, err := pool.Exec(context.Background(), `DELETE FROM users_session_hashes; DELETE FROM users_sessions;
DELETE FROM users_user_policies; DELETE FROM users_tokens;
DELETE FROM users_mail; DELETE FROM users_users; DELETE FROM users_roles; DELETE FROM users_policies;
DELETE FROM users_settings; DELETE FROM users_events; DELETE FROM users_event_deliveries`)
		require.NoError(t, err)
		return dropping{Store: s, pool: pool}
	})
}

// dropping is a Store that can also delete a role or a policy its users
// still name (storetest.Dropper): in a transaction that does not fire the
// foreign keys' triggers (session_replication_role, for a superuser).
type dropping struct {
	*pgstore.Store
	pool *pgxpool.Pool
}

func (d dropping) DropRole(ctx context.Context, id string) error {
	return d.drop(ctx, `DELETE FROM users_roles WHERE id = $1`, id)
}

func (d dropping) DropPolicy(ctx context.Context, id string) error {
	return d.drop(ctx, `DELETE FROM users_policies WHERE id = $1`, id)
}

func (d dropping) drop(ctx context.Context, stmt, id string) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, stmt, id)
		return err
	})
}

func TestShared(t *testing.T) {
	t.Parallel()
	sharedtest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

// The whole contract holds on a database whose default collation is not
// bytewise (ICU en-US, which sorts "apple" before "Zebra"): the store's
// own COLLATE "C" columns give byte order.
func TestConformanceICUDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDSN(t)
	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "users_test_icu_" + hex.EncodeToString(b[:])
	_, err = admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8'
	LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
	if err != nil && os.Getenv("CI") != "true" && strings.Contains(err.Error(), "icu") {
		t.Skipf("this server cannot create an ICU database: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var less bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT 'apple' < 'Zebra'`).Scan(&less))
	require.True(t, less, "the database's default collation should not be bytewise")
	s, err := pgstore.New(ctx, pool)
	require.NoError(t, err)
	storetest.Run(t, func(t *testing.T) store.Store {
		_, err := pool.Exec(ctx, `DELETE FROM users_session_hashes; DELETE FROM users_sessions;
DELETE FROM users_user_policies; DELETE FROM users_tokens; DELETE FROM users_mail; DELETE FROM users_users;
DELETE FROM users_roles; DELETE FROM users_policies; DELETE FROM users_settings; DELETE FROM users_events; DELETE FROM users_event_deliveries`)
		require.NoError(t, err)
		return dropping{Store: s, pool: pool}
	})
}
