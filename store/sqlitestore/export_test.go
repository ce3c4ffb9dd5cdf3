package sqlitestore

import (
	"context"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// The statements the store runs, for the tests that check their query
// plans: a test that EXPLAINs a copy of a query would not notice the
// store's own query changing.

// GetUserByEmailKeySQL is the statement of GetUserByEmailKey.
const GetUserByEmailKeySQL = getUserByEmailKeySQL

// ListUsersSQL is the statement ListUsers runs for q, and its arguments.
func ListUsersSQL(q store.UserQuery) (string, []any, error) { return listUsersSQL(q) }

// CountUsersSQL is the statement CountUsers runs for q, and its arguments.
func CountUsersSQL(q store.UserQuery) (string, []any, error) { return countUsersSQL(q) }

// CreateUsers creates us as CreateUser does, with the same statements, but
// all in one transaction: benchmarks fill a database of 100,000 users in
// seconds instead of a minute.
func (s *Store) CreateUsers(ctx context.Context, us []*store.User) error {
	return s.write(ctx, "create users", func(q querier) error {
		for _, u := range us {
			meta, err := sqlstore.EncodeMetadata(u.Metadata)
			if err != nil {
				return err
			}
			if err := insertUser(ctx, q, u, meta, store.Effects{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// InsertEvents inserts events as the writers do, with the same statement,
// all in one transaction: the activity benchmark fills a log of 1,000,000
// entries in seconds.
func (s *Store) InsertEvents(ctx context.Context, events []*store.Event) error {
	return s.write(ctx, "insert events", func(q querier) error { return insertEvents(ctx, q, events) })
}

// MigrationFiles are the embedded migrations.
var MigrationFiles = migrationFiles

// PreparedShapes is how many statements built from a query's shape the
// store holds prepared.
func (s *Store) PreparedShapes() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.shapes
}

// MaxShapeStmts is the cap on them.
const MaxShapeStmts = maxShapeStmts
