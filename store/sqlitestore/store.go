package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"

	"github.com/mattn/go-sqlite3"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// Store is a [store.Store] on a SQLite database. It is safe for concurrent
// use. Create it with [New] or [Open].
type Store struct {
	db *sql.DB

	// wlock serialises this Store's write transactions, so that writers
	// in one process queue in Go instead of polling SQLite's busy handler.
	wlock chan struct{}
	// queue holds the writes waiting for wlock (see write).
	qmu   sync.Mutex
	queue []*queuedWrite
	// groupAlways runs a lone write as a group of one (tests run the
	// conformance suite through the savepoints that way).
	groupAlways bool
	// groups counts the transactions writeGroup began (under wlock).
	groups int

	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
	shapes  int                 // of stmts, those shapeStmt prepared
	pending map[string]struct{} // met inside a transaction, not yet prepared

	// ckpt checkpoints a WAL database in the background (nil for a
	// database in memory); see checkpointer.
	ckpt *checkpointer
}

var _ store.Store = (*Store)(nil)

// ErrForeignKeysOff is returned by New for a handle whose connections do
// not enforce foreign keys. Open the database with _foreign_keys=on in the
// DSN (see [DSN]).
var ErrForeignKeysOff = errors.New("sqlitestore: foreign key enforcement is off on this connection: open the database with _foreign_keys=on in the DSN (see sqlitestore.DSN)")

// DSN returns the go-sqlite3 data source name for the database file at
// path with the settings this store is built for: WAL journal, a busy
// timeout of 5 s, foreign keys on, synchronous=NORMAL, immediate write
// transactions, and a per-connection prepared-statement cache.
func DSN(path string) string {
	// A file: URI lets the path hold any character; only '%', '?' and '#'
	// need escaping in it.
	esc := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	return "file:" + esc + "?" + q.Encode()
}

// Open opens (creating it if needed) the SQLite database file at path with
// [DSN], sizes its connection pool, and returns a migrated Store on it with
// the handle, which the caller closes when done.
func Open(path string) (*Store, *sql.DB, error) {
	db, err := sql.Open("sqlite3", DSN(path))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// One writer at a time (SQLite's rule); readers in parallel under WAL.
	// Idle connections are kept: opening one runs the DSN's PRAGMAs.
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s, err := New(db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return s, db, nil
}

// New returns a Store on db, a handle to a SQLite database opened with the
// go-sqlite3 driver, after migrating the store's schema in it (creating it
// on first use; a database migrated already is left as it is).
//
// What New expects of db (see the package documentation and [DSN]):
//   - Foreign keys enforced on every connection (_foreign_keys=on). New
//     checks one connection and returns [ErrForeignKeysOff] when it does
//     not enforce them. The store checks roles and policies itself as
//     well, so a pool whose other connections lack the setting still gets
//     the errors the contract promises, but the cascades of users_tokens
//     and users_user_policies need it.
//   - A busy timeout (_busy_timeout), so that writers in other processes
//     wait for each other instead of failing with "database is locked".
//   - Anything else is optional. New switches a file database to WAL
//     journal mode, which is a persistent setting of the database file.
//
// New does not take ownership of db: the caller closes it, after calling
// [Store.Close].
func New(db *sql.DB) (*Store, error) {
	ctx := context.Background()
	wal, err := checkConn(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db); err != nil {
		return nil, err
	}
	s := &Store{
		db:      db,
		wlock:   make(chan struct{}, 1),
		stmts:   make(map[string]*sql.Stmt),
		pending: make(map[string]struct{}),
	}
	if wal {
		s.startCheckpointer(checkpointEvery, restartFrames)
	}
	return s, nil
}

// checkConn verifies the per-connection settings New relies on, on one
// connection, and applies the per-database one (WAL). It reports whether
// the database is in WAL mode.
func checkConn(ctx context.Context, db *sql.DB) (wal bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: %w", err)
	}
	defer conn.Close()
	var fk int
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return false, fmt.Errorf("sqlitestore: read foreign_keys: %w", err)
	}
	if fk != 1 {
		return false, ErrForeignKeysOff
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return false, fmt.Errorf("sqlitestore: read journal_mode: %w", err)
	}
	// An in-memory database cannot use WAL; its mode stays "memory".
	if mode != "wal" && mode != "memory" {
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
			return false, fmt.Errorf("sqlitestore: set journal_mode=WAL: %w", err)
		}
	}
	return mode == "wal", nil
}

// Close stops the Store's background checkpoints and releases the
// prepared statements it holds. It does not close the *sql.DB (closing its
// last connection checkpoints the log into the database file).
func (s *Store) Close() error {
	s.stopCheckpointer()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for q, st := range s.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts, q)
	}
	s.shapes = 0
	return errors.Join(errs...)
}

// maxStmts caps the prepared-statement cache; queries past it are run
// unprepared. The store builds a bounded set of queries, so the cap is only
// a guard.
const maxStmts = 256

// maxShapeStmts caps how many statements built from a query's shape (the
// user lists and counts: their text follows the filter, sort and paging
// asked for, the values being arguments) are prepared; the others run
// unprepared, so that a run of unusual queries cannot fill the cache the
// flows' own statements need.
const maxShapeStmts = 64

// stmt returns the prepared statement for query, preparing it on first use.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return s.prepared(ctx, query, false)
}

// shapeStmt is stmt for a statement built from a query's shape: nil (run
// it unprepared) once maxShapeStmts of them are prepared.
func (s *Store) shapeStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return s.prepared(ctx, query, true)
}

func (s *Store) prepared(ctx context.Context, query string, shape bool) (*sql.Stmt, error) {
	s.mu.RLock()
	st := s.stmts[query]
	s.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stmts[query]; st != nil {
		return st, nil
	}
	if len(s.stmts) >= maxStmts || shape && s.shapes >= maxShapeStmts {
		return nil, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	if shape {
		s.shapes++
	}
	return st, nil
}

// querier runs statements on the database or inside a transaction, through
// the Store's prepared statements.
type querier struct {
	s  *Store
	tx *sql.Tx // nil: outside a transaction
	// nocancel: statements run without their context's cancellation (see
	// writeGroup).
	nocancel bool
}

// cached returns the prepared statement for query without preparing it.
// Inside a transaction a statement is never prepared on the handle: that
// needs a second connection, which a pool of one (SetMaxOpenConns(1)) does
// not have while the transaction holds its only one. A query first met in
// a transaction runs unprepared and is prepared after the commit.
func (s *Store) cached(query string) *sql.Stmt {
	s.mu.RLock()
	st := s.stmts[query]
	_, queued := s.pending[query]
	s.mu.RUnlock()
	if st == nil && !queued {
		s.mu.Lock()
		if len(s.pending) < maxStmts {
			s.pending[query] = struct{}{}
		}
		s.mu.Unlock()
	}
	return st
}

// preparePending prepares the queries met inside transactions, once the
// transaction has released its connection. Failures only leave a query
// unprepared.
func (s *Store) preparePending(ctx context.Context) {
	s.mu.RLock()
	n := len(s.pending)
	s.mu.RUnlock()
	if n == 0 {
		return
	}
	s.mu.Lock()
	queries := make([]string, 0, len(s.pending))
	for q := range s.pending {
		queries = append(queries, q)
	}
	clear(s.pending)
	s.mu.Unlock()
	for _, q := range queries {
		_, _ = s.stmt(ctx, q)
	}
}

func (q querier) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if q.nocancel {
		ctx = context.WithoutCancel(ctx)
	}
	if q.tx != nil {
		if st := q.s.cached(query); st != nil {
			return q.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
		return q.tx.ExecContext(ctx, query, args...)
	}
	st, err := q.s.stmt(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return q.s.db.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (q querier) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if q.nocancel {
		ctx = context.WithoutCancel(ctx)
	}
	if q.tx != nil {
		if st := q.s.cached(query); st != nil {
			return q.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		}
		return q.tx.QueryContext(ctx, query, args...)
	}
	st, err := q.s.stmt(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return q.s.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs query and scans its first row with scan; sql.ErrNoRows
// when there is none.
func (q querier) queryRow(ctx context.Context, query string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := scan(rows); err != nil {
		return err
	}
	return rows.Close()
}

// read returns a querier outside any transaction: each statement sees one
// consistent snapshot.
func (s *Store) read() querier { return querier{s: s} }

// write runs fn in one transaction under the Store's write lock, and
// commits it when fn returns nil. fn's first statement must be a write, so
// that the transaction takes SQLite's write lock before it reads anything,
// whatever _txlock the handle was opened with.
//
// Writers that queue behind the lock share one transaction (a group
// commit): the writer that takes the lock runs every queued fn in turn,
// each in a savepoint of its own, which is rolled back when fn fails, and
// commits them together. A commit costs a fixed price (SQLite's file locks,
// the WAL frames of the pages every write touches, such as the tail of the
// event log), which a group pays once; each fn still sees the changes of
// the ones before it, as if they had run one after another, and none
// returns before its changes are committed (or known lost).
func (s *Store) write(ctx context.Context, op string, fn func(q querier) error) error {
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, op, err)
	}
	w := &queuedWrite{ctx: ctx, op: op, fn: fn, done: make(chan struct{})}
	s.qmu.Lock()
	s.queue = append(s.queue, w)
	s.qmu.Unlock()
	for {
		select {
		case s.wlock <- struct{}{}:
			s.runQueue()
			s.unlock()
		case <-w.done:
			return w.err
		case <-ctx.Done():
			if s.dequeue(w) {
				return s.fail(ctx, op, ctx.Err())
			}
			<-w.done // a group has it: its outcome is known soon
			return w.err
		}
		// The queue held w (or an earlier group ran it) when this writer
		// took the lock, so w is done, unless a transaction that failed as
		// a whole put it back in the queue.
		select {
		case <-w.done:
			return w.err
		default:
		}
	}
}

// queuedWrite is a write transaction's fn waiting for the write lock.
type queuedWrite struct {
	ctx  context.Context
	op   string
	fn   func(q querier) error
	err  error // the outcome, set before done is closed
	done chan struct{}
}

func (w *queuedWrite) finish(err error) {
	w.err = err
	close(w.done)
}

// maxGroup caps the writes one transaction commits together.
const maxGroup = 32

// dequeue takes w off the queue; false when a group has taken it.
func (s *Store) dequeue(w *queuedWrite) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return true
		}
	}
	return false
}

// runQueue runs the queued writes, up to maxGroup of them, as one group.
// The caller holds wlock.
func (s *Store) runQueue() {
	s.qmu.Lock()
	n := min(len(s.queue), maxGroup)
	group := make([]*queuedWrite, 0, n)
	for _, w := range s.queue[:n] {
		if err := w.ctx.Err(); err != nil {
			w.finish(s.fail(w.ctx, w.op, err))
			continue
		}
		group = append(group, w)
	}
	s.queue = append(s.queue[:0], s.queue[n:]...)
	s.qmu.Unlock()
	switch {
	case len(group) == 0:
		return
	case len(group) == 1 && !s.groupAlways:
		w := group[0]
		w.finish(s.writeAlone(w.ctx, w.op, w.fn))
		return
	}
	s.writeGroup(group)
}

// writeAlone runs fn in a transaction of its own. The caller holds wlock.
func (s *Store) writeAlone(ctx context.Context, op string, fn func(q querier) error) error {
	conn, err := s.writeConn(ctx)
	if err != nil {
		return s.fail(ctx, op, err)
	}
	// The connection goes back to the pool before preparePending, which
	// needs one (a pool may hold only one).
	release := sync.OnceFunc(func() { _ = conn.Close() })
	defer release()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, op, err)
	}
	err = fn(querier{s: s, tx: tx})
	var keep *committedError
	if err != nil && !errors.As(err, &keep) {
		_ = tx.Rollback()
		return s.fail(ctx, op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, op, err)
	}
	release()
	s.committed()
	s.preparePending(ctx)
	if keep != nil {
		return s.fail(ctx, op, keep.err)
	}
	return nil
}

// writeGroup runs the group's writes in one transaction, each in a
// savepoint, and commits the ones that succeeded. Their statements run
// without their contexts' cancellation: SQLite answers an interrupted
// write inside a transaction by rolling the whole transaction back, which
// would undo the group's other writes (a context is checked before each
// write starts). The caller holds wlock.
func (s *Store) writeGroup(group []*queuedWrite) {
	bg := context.Background()
	s.groups++
	conn, err := s.writeConn(bg)
	if err != nil {
		for _, w := range group {
			w.finish(s.fail(w.ctx, w.op, err))
		}
		return
	}
	release := sync.OnceFunc(func() { _ = conn.Close() })
	defer release()
	tx, err := conn.BeginTx(bg, nil)
	if err != nil {
		for _, w := range group {
			w.finish(s.fail(w.ctx, w.op, err))
		}
		return
	}
	type kept struct {
		w   *queuedWrite
		err error // a committedError's, returned once committed
	}
	var done []kept
	// lost ends the transaction after err, met running group[i] (ran:
	// its fn ran) or beginning it: the writes kept so far are undone with
	// the transaction and fail, group[i] fails with err if it ran, and the
	// writes not run yet go back to the head of the queue, for the next
	// transaction.
	lost := func(i int, ran bool, err error) {
		_ = tx.Rollback()
		for _, k := range done {
			k.w.finish(s.fail(k.w.ctx, k.w.op, fmt.Errorf("transaction rolled back: %w", err)))
		}
		if ran {
			group[i].finish(s.fail(group[i].ctx, group[i].op, err))
			i++
		}
		s.qmu.Lock()
		s.queue = append(group[i:len(group):len(group)], s.queue...)
		s.qmu.Unlock()
	}
	for i, w := range group {
		if err := w.ctx.Err(); err != nil {
			w.finish(s.fail(w.ctx, w.op, err))
			continue
		}
		if _, err := tx.ExecContext(bg, `SAVEPOINT w`); err != nil {
			lost(i, false, err)
			return
		}
		err := w.fn(querier{s: s, tx: tx, nocancel: true})
		var keep *committedError
		if err == nil || errors.As(err, &keep) {
			if _, err := tx.ExecContext(bg, `RELEASE w`); err != nil {
				lost(i, true, err)
				return
			}
			k := kept{w: w}
			if keep != nil {
				k.err = keep.err
			}
			done = append(done, k)
			continue
		}
		// SQLite rolls the whole transaction back on some errors (an I/O
		// error, a full disk): then there is no savepoint to return to.
		if _, rerr := tx.ExecContext(bg, `ROLLBACK TO w`); rerr != nil {
			lost(i, true, err)
			return
		}
		if _, rerr := tx.ExecContext(bg, `RELEASE w`); rerr != nil {
			lost(i, true, err)
			return
		}
		w.finish(s.fail(w.ctx, w.op, err))
	}
	if err := tx.Commit(); err != nil {
		for _, k := range done {
			k.w.finish(s.fail(k.w.ctx, k.w.op, err))
		}
		return
	}
	release()
	s.committed()
	s.preparePending(bg)
	for _, k := range done {
		k.w.finish(s.fail(k.w.ctx, k.w.op, k.err))
	}
}

// committedError is an error of a write whose transaction is committed
// all the same: RotateSession's ErrTokenReused, whose deletion of the
// session is the point.
type committedError struct{ err error }

func (e *committedError) Error() string { return e.err.Error() }
func (e *committedError) Unwrap() error { return e.err }

// writeOne runs fn, whose writes are a single statement, as write runs a
// write: in the queue behind the write lock, so that it commits with the
// writes queued beside it (the outbox's and the event log's updates, one a
// message, then share the flows' commits).
func (s *Store) writeOne(ctx context.Context, op string, fn func(q querier) error) error {
	return s.write(ctx, op, fn)
}

func (s *Store) unlock() { <-s.wlock }

// fail turns err into the error a method returns: the contract's sentinels
// as they are, the context's error when ctx is done (go-sqlite3 reports an
// interrupted statement in its own words), anything else wrapped with op.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case sqlstore.IsSentinel(err):
		return err
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("sqlitestore: %s: %w (%v)", op, ctx.Err(), err)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// constraint reports whether err is a SQLite constraint violation of kind
// ext (sqlite3.ErrConstraintUnique…) whose message mentions what.
func constraint(err error, ext sqlite3.ErrNoExtended, what string) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == ext && strings.Contains(se.Error(), what)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
