package mysqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// Store is a store.Store on MySQL or MariaDB. It is safe for concurrent
// use, and several Stores — in one process or in many — may share one
// database. Create it with New.
type Store struct {
	db      *sql.DB
	retries int
	// level is the isolation level the store's transactions ask for:
	// READ COMMITTED, or the session's when New found the session at
	// READ COMMITTED already (then no transaction sends the SET that
	// would set it: one round trip fewer).
	level sql.IsolationLevel
	// multi: the handle sends several statements, their arguments
	// interpolated, in one round trip (see multiStatements).
	multi bool
	// block: the server runs anonymous blocks (BEGIN NOT ATOMIC … END,
	// MariaDB) with the arguments interpolated (see compoundStatements).
	block bool
	// ro runs the frequent reads (and the update of a mail sent) as
	// prepared statements.
	ro *prepared
}

var _ store.Store = (*Store)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	retries int
}

// WithRetries sets how many times an operation that failed with a deadlock
// (error 1213) or a lock wait timeout (1205) is retried, whole, after a
// short jittered backoff, before the error is returned. Default 5; 0
// disables retries.
func WithRetries(n int) Option {
	return func(o *options) {
		if n >= 0 {
			o.retries = n
		}
	}
}

// New returns a Store on db, a handle the host app opened with the
// go-sql-driver/mysql driver and still owns (close it after the last use of
// the Store). Its tables live in the handle's default database (the DSN's
// /dbname), which must exist.
//
// New checks the server (MySQL 8.0 or later, MariaDB 10.6 or later: both
// have SKIP LOCKED) and the connection's character set (utf8mb4, the
// driver's default), then brings the schema up to date: it applies the
// embedded migrations the database has not seen, under a named lock
// (GET_LOCK), so instances starting at once migrate exactly once and each
// sees the finished schema.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("mysqlstore: New: nil handle")
	}
	o := options{retries: 5}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{db: db, retries: o.retries, level: sql.LevelReadCommitted, ro: newPrepared(db)}
	if err := migrate(ctx, db); err != nil {
		return nil, err
	}
	if sessionReadCommitted(ctx, db) {
		s.level = sql.LevelDefault
	}
	s.multi = multiStatements(ctx, db)
	s.block = compoundStatements(ctx, db)
	return s, nil
}

// checkServer returns an error when the server or the connection lacks
// what the store relies on. conn is the migration's connection: the
// character set is a per-connection setting, the same on every connection
// of a handle (the driver sets it from the DSN at connect).
// mariaDB tells MariaDB from MySQL, for the migrations that differ.
func checkServer(ctx context.Context, conn *sql.Conn) (database string, mariaDB bool, err error) {
	var (
		version, charset string
		db               sql.NullString
	)
	if err := conn.QueryRowContext(ctx, "SELECT VERSION(), @@character_set_connection, DATABASE()").Scan(&version, &charset, &db); err != nil {
		return "", false, err
	}
	if !db.Valid || db.String == "" {
		return "", false, errors.New("no database selected: name one in the DSN (user@tcp(host:3306)/dbname)")
	}
	if charset != "utf8mb4" {
		return "", false, fmt.Errorf("the connection's character set is %s, not utf8mb4: remove charset= from the DSN or set charset=utf8mb4", charset)
	}
	if !versionAtLeast(version) {
		return "", false, fmt.Errorf("server version %s: the store needs MySQL 8.0 or later, or MariaDB 10.6 or later (for SKIP LOCKED)", version)
	}
	return db.String, strings.Contains(strings.ToLower(version), "mariadb"), nil
}

// versionAtLeast reports whether a VERSION() string is MySQL >= 8.0 or
// MariaDB >= 10.6.
func versionAtLeast(v string) bool {
	num, _, _ := strings.Cut(v, "-")
	parts := strings.SplitN(num, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	if strings.Contains(strings.ToLower(v), "mariadb") {
		return major > 10 || major == 10 && minor >= 6
	}
	return major >= 8
}

// do runs fn, retrying it after deadlocks and lock wait timeouts, and turns
// its error into the one the Store returns: a users sentinel where one
// applies, ctx's error when ctx ended, always prefixed with op.
func (s *Store) do(ctx context.Context, op string, fn func() error) error {
	return do(ctx, s.retries, op, fn)
}

func do(ctx context.Context, retries int, op string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mysqlstore: %s: %w", op, err)
	}
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if attempt < retries && retryable(err) && ctx.Err() == nil {
			if serr := sqlstore.Sleep(ctx, sqlstore.Backoff(attempt)); serr == nil {
				continue
			}
		}
		return wrapErr(ctx, op, err)
	}
}

// MySQL error numbers the store handles.
const (
	erDupFieldName    = 1060 // ER_DUP_FIELDNAME
	erDupEntry        = 1062 // ER_DUP_ENTRY
	erLockWaitTimeout = 1205 // ER_LOCK_WAIT_TIMEOUT
	erLockDeadlock    = 1213 // ER_LOCK_DEADLOCK
	erNoReferenced    = 1452 // ER_NO_REFERENCED_ROW_2
	erNoReferencedOld = 1216 // ER_NO_REFERENCED_ROW
)

func mysqlErr(err error) *mysql.MySQLError {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

// retryable reports whether err is a transient failure that a new attempt
// of the whole transaction may not meet. InnoDB rolls back the whole
// transaction on a deadlock, and only the statement on a lock wait timeout
// (by default); the store rolls back the rest and starts over either way.
func retryable(err error) bool {
	me := mysqlErr(err)
	return me != nil && (me.Number == erLockDeadlock || me.Number == erLockWaitTimeout)
}

// isDup reports whether err is a duplicate-key error on the named index.
// MariaDB names the index ('users_users_email_key'), MySQL 8 the table and
// the index ('users_users.users_users_email_key').
func isDup(err error, index string) bool {
	me := mysqlErr(err)
	return me != nil && me.Number == erDupEntry && strings.Contains(me.Message, index+"'")
}

// wrapErr maps err to the Store's error for op.
func wrapErr(ctx context.Context, op string, err error) error {
	if me := mysqlErr(err); me != nil {
		switch {
		case isDup(err, "users_users_email_key"):
			err = store.ErrDuplicateEmail
		case (me.Number == erNoReferenced || me.Number == erNoReferencedOld) && strings.Contains(me.Message, "`users_users_role_fkey`"):
			err = store.ErrRoleNotFound
		case (me.Number == erNoReferenced || me.Number == erNoReferencedOld) && strings.Contains(me.Message, "`users_user_policies_policy_fkey`"):
			err = store.ErrPolicyNotFound
		case me.Number == erDupEntry:
			// The message quotes the duplicate value, which may be a
			// token hash or an address: keep only the index's name.
			idx := me.Message
			if i := strings.LastIndex(idx, " for key "); i >= 0 {
				idx = idx[i+len(" for key "):]
			} else {
				idx = "?"
			}
			err = fmt.Errorf("duplicate entry for key %s (error %d)", idx, me.Number)
		}
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) && !sqlstore.IsSentinel(err) {
		// The driver reports a statement cut short by ctx in several
		// ways; make sure errors.Is(err, context.Canceled) holds.
		return fmt.Errorf("mysqlstore: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("mysqlstore: %s: %w", op, err)
}

// inTx runs fn in a read-committed transaction and commits it when fn
// returns nil; otherwise it rolls it back and returns fn's error.
//
// Read committed, whatever the server's default (REPEATABLE READ), is the
// store's deliberate choice for every write: the rows a transaction
// decides on are read with locking reads (SELECT … FOR UPDATE), which see
// the latest committed version at any level, and read committed takes no
// gap or next-key locks, so concurrent inserts of users, tokens and mails
// do not block or deadlock on each other's index ranges.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTxLevel(ctx, s.db, s.level, fn)
}

// sessionReadCommitted reports whether a connection's session isolation
// level is READ COMMITTED already (the DSN sets it on every connection the
// driver opens: transaction_isolation on MySQL, tx_isolation on MariaDB
// before 11.1, quoted, e.g. tx_isolation=%27READ-COMMITTED%27). Any error
// reads as no.
func sessionReadCommitted(ctx context.Context, db *sql.DB) bool {
	for _, v := range []string{"@@SESSION.transaction_isolation", "@@SESSION.tx_isolation"} {
		var level string
		if err := db.QueryRowContext(ctx, "SELECT "+v).Scan(&level); err == nil {
			return level == "READ-COMMITTED"
		}
	}
	return false
}

func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	return inTxLevel(ctx, db, sql.LevelReadCommitted, fn)
}

// inTxLevel is inTx at the given isolation level; sql.LevelDefault is the
// session's (the server's default, unless the DSN sets one), and saves the
// round trip that sets the level.
func inTxLevel(ctx context.Context, db *sql.DB, level sql.IsolationLevel, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: level})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// multiStatements reports whether db sends several statements with their
// arguments in one round trip and hands back each one's result: the DSN
// has both multiStatements=true and interpolateParams=true (without the
// first the server refuses the statements; without the second the driver
// prepares them, which the server refuses too), and nothing between the
// store and the driver hides the second result. Any error reads as no.
func multiStatements(ctx context.Context, db *sql.DB) bool {
	return twoResults(ctx, db, "SELECT ?;\nSELECT ?", 1, 2)
}

// twoResults reports whether query, run on db with args, gives two
// results of one row each, 1 and 2, as the store reads them.
func twoResults(ctx context.Context, db *sql.DB, query string, args ...any) bool {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return false
	}
	defer rows.Close()
	var a, b int
	if !rows.Next() || rows.Scan(&a) != nil || rows.Next() || !rows.NextResultSet() || !rows.Next() || rows.Scan(&b) != nil {
		return false
	}
	return rows.Close() == nil && a == 1 && b == 2
}

// compoundStatements reports whether db runs an anonymous block (BEGIN
// NOT ATOMIC … END: MariaDB, not MySQL) of statements with arguments
// interpolated by the driver (interpolateParams=true): such a block is
// one statement, sent in one round trip, which runs its statements on the
// server and can decide between them (IF … END IF), and whose several
// results reach the store. Any error reads as no.
func compoundStatements(ctx context.Context, db *sql.DB) bool {
	return twoResults(ctx, db, "BEGIN NOT ATOMIC\nDECLARE v INT;\nSET v = ?;\nSELECT v;\nSELECT v + 1;\nEND", 1)
}

// execer is what the inserts need of a *sql.Tx; a batch records them.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// batch records statements, to be sent in one round trip with run.
type batch struct {
	sql  strings.Builder
	args []any
}

// ExecContext records query and its arguments; the result it returns
// reports nothing (no id, no row). An argument that is a sqlExpr is
// written into the statement in place of its placeholder.
func (b *batch) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if !slices.ContainsFunc(args, func(a any) bool { _, ok := a.(sqlExpr); return ok }) {
		b.sql.WriteString(query)
		b.args = append(b.args, args...)
	} else {
		n := 0
		for i := 0; i < len(query); i++ {
			if query[i] != '?' || n >= len(args) {
				b.sql.WriteByte(query[i])
				continue
			}
			if e, ok := args[n].(sqlExpr); ok {
				b.sql.WriteString(string(e))
			} else {
				b.sql.WriteByte('?')
				b.args = append(b.args, args[n])
			}
			n++
		}
	}
	b.sql.WriteString(";\n")
	return noResult{}, nil
}

// sqlExpr is an argument a batch writes into the statement's text: the
// name of a variable its block declares. Never a value from outside.
type sqlExpr string

// noResult is the result of a recorded statement.
type noResult struct{}

func (noResult) LastInsertId() (int64, error) { return 0, nil }
func (noResult) RowsAffected() (int64, error) { return 0, nil }

// run sends the recorded statements in one transaction, in one round trip
// on a connection of db's (at the session's isolation level). The server
// stops at the first statement that fails, with the transaction still
// open: it is rolled back before the connection goes back to the pool.
func (b *batch) run(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "START TRANSACTION;\n"+b.sql.String()+"COMMIT", b.args...); err != nil {
		rollback(ctx, conn)
		return err
	}
	return nil
}

// onConn runs fn on a connection of db's. fn sets *ended once the
// transaction it began has ended (committed, or a block ran to its end);
// otherwise the transaction is rolled back before the connection goes back
// to the pool, whatever fn returned.
func onConn(ctx context.Context, db *sql.DB, fn func(conn *sql.Conn, ended *bool) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	ended := false
	defer func() {
		if !ended {
			rollback(ctx, conn)
		}
	}()
	return fn(conn, &ended)
}

// rollback rolls back the transaction a batch left open on conn (the
// server stops at the first statement that fails, with the transaction
// still open). ctx may be cancelled already; the rollback must still run.
// If it fails, the connection is broken and is not reused.
func rollback(ctx context.Context, conn *sql.Conn) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(rctx, "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// placeholders returns "?, ?, …" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// anys converts a []string into arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
