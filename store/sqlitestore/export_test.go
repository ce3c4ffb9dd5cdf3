package sqlitestore

import (
	"time"

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

// GroupAlways makes a lone write run as a group of one, through the
// savepoints a group's writes run in.
func (s *Store) GroupAlways() { s.groupAlways = true }

// HoldWriteLock takes the Store's write lock, as a write in progress
// holds it, until release is called: writes queue behind it meanwhile.
func (s *Store) HoldWriteLock() (release func()) {
	s.wlock <- struct{}{}
	return s.unlock
}

// Queued is how many writes wait for the write lock.
func (s *Store) Queued() int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.queue)
}

// Groups is how many transactions ran writes as a group.
func (s *Store) Groups() int {
	s.wlock <- struct{}{}
	defer s.unlock()
	return s.groups
}

// WriteExec runs stmts as one write (in a transaction, or a group's
// savepoint) that then fails with err when err is not nil.
func (s *Store) WriteExec(ctx context.Context, err error, stmts ...string) error {
	return s.write(ctx, "write exec", func(q querier) error {
		for _, st := range stmts {
			if _, err := q.exec(ctx, st); err != nil {
				return err
			}
		}
		return err
	})
}

// Checkpoints restarts the Store's checkpointer with the given pause and
// restart threshold (0 frames: no checkpointer at all, so that only the
// writers' own settings decide), and returns a function reporting the
// PASSIVE and RESTART checkpoints it has run.
func (s *Store) Checkpoints(every time.Duration, restartFrames int) func() (passes, resets int) {
	old := s.ckpt
	s.stopCheckpointer()
	if restartFrames == 0 {
		// Writers still turn their connections' automatic checkpoints
		// off: keep a checkpointer that never runs.
		s.ckpt = &checkpointer{tuned: old.tuned}
		return func() (int, int) { return 0, 0 }
	}
	s.startCheckpointer(every, restartFrames)
	c := s.ckpt
	return func() (int, int) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.passes, c.resets
	}
}

// CheckpointNow runs one round of the checkpointer (a PASSIVE checkpoint,
// and a RESTART one past its threshold) at once.
func (s *Store) CheckpointNow() { s.ckpt.checkpoint(s) }
