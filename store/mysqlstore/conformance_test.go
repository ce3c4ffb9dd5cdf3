package mysqlstore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/mysqlstore"
	"github.com/gousers/users/store/storetest"
)

// TestConformance runs the store.Store contract suite on a database of its
// own, three times side by side (each on a database of its own): with
// server-side prepared statements (the driver's default), with
// interpolateParams=true (what the package recommends), whose arguments
// the driver escapes itself (on MariaDB the store then sends anonymous
// blocks: ConsumeToken in one round trip), and with multiStatements=true
// as well, which lets the store send a transaction in one or two round
// trips (here without the anonymous blocks, as on MySQL). The suite runs its sub-tests one
// after the other, so they share the database, emptied before each:
// migrating a fresh database per sub-test would multiply the run time and
// check nothing more (TestMulti and every other test here migrate fresh
// databases).
func TestConformance(t *testing.T) {
	t.Parallel() // its sub-tests run side by side with the package's other tests
	for _, mode := range []string{"Prepared", "Interpolated", "Multi"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel() // a database of its own
			cfg, err := mysql.ParseDSN(newDatabase(t))
			require.NoError(t, err)
			cfg.InterpolateParams = mode != "Prepared"
			cfg.MultiStatements = mode == "Multi"
			db := newDB(t, cfg.FormatDSN())
			s, err := mysqlstore.New(context.Background(), db)
			require.NoError(t, err)
			require.Equal(t, mode == "Multi", mysqlstore.MultiStatements(s))
			var version string
			require.NoError(t, db.QueryRow("SELECT VERSION()").Scan(&version))
			if mode == "Interpolated" && strings.Contains(strings.ToLower(version), "mariadb") {
				require.True(t, mysqlstore.CompoundStatements(s), "MariaDB with interpolated arguments runs anonymous blocks")
			}
			if mode == "Multi" {
				// The two-round-trip forms that multiStatements allows:
				// the Interpolated mode already runs the anonymous
				// blocks MariaDB has.
				mysqlstore.NoCompoundStatements(s)
			}
			storetest.Run(t, func(t *testing.T) store.Store {
				for _, table := range []string{"users_session_hashes", "users_sessions", "users_user_policies", "users_tokens",
					"users_mail", "users_users", "users_roles", "users_policies", "users_settings", "users_events", "users_event_deliveries"} {
					_, err := db.Exec("DELETE FROM " + table)
					require.NoError(t, err)
				}
				return dropping{Store: s, db: db}
			})
		})
	}
}

// dropping is a Store that can also delete a role or a policy its users
// still name (storetest.Dropper): on a connection of its own with foreign
// key checks off.
type dropping struct {
	*mysqlstore.Store
	db *sql.DB
}

func (d dropping) DropRole(ctx context.Context, id string) error {
	return d.drop(ctx, `DELETE FROM users_roles WHERE id = ?`, id)
}

func (d dropping) DropPolicy(ctx context.Context, id string) error {
	return d.drop(ctx, `DELETE FROM users_policies WHERE id = ?`, id)
}

func (d dropping) drop(ctx context.Context, stmt, id string) error {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `SET foreign_key_checks = 0`); err != nil {
		return err
	}
	_, err = c.ExecContext(ctx, stmt, id)
	if _, rerr := c.ExecContext(ctx, `SET foreign_key_checks = 1`); err == nil {
		err = rerr
	}
	return err
}

func TestShared(t *testing.T) {
	t.Parallel()
	sharedtest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}
