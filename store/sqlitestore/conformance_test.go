package sqlitestore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, conformanceStore(false))
}

// TestConformanceGrouped runs the contract with every write in a
// savepoint of a group's transaction, as writes queued behind the write
// lock run (a group of one each here; group_test.go has larger ones).
func TestConformanceGrouped(t *testing.T) {
	t.Parallel()
	storetest.Run(t, conformanceStore(true))
}

func conformanceStore(grouped bool) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store {
		s, path := openTemp(t)
		if grouped {
			s.GroupAlways()
		}
		// A handle of its own without foreign keys, as SQL run behind the
		// store's back might be.
		raw := openApp(t, strings.Replace(sqlitestore.DSN(path), "_foreign_keys=on", "_foreign_keys=off", 1))
		return dropping{Store: s, db: raw}
	}
}

// dropping is a Store that can also delete a role or a policy its users
// still name (storetest.Dropper).
type dropping struct {
	*sqlitestore.Store
	db *sql.DB
}

func (d dropping) DropRole(ctx context.Context, id string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM users_roles WHERE id = ?`, id)
	return err
}

func (d dropping) DropPolicy(ctx context.Context, id string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM users_policies WHERE id = ?`, id)
	return err
}

func TestShared(t *testing.T) {
	t.Parallel()
	sharedtest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}
