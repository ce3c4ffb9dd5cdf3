// Package sqlitestore is a [store.Store] on SQLite, through
// github.com/mattn/go-sqlite3 (cgo).
//
// # Opening
//
// [Open] opens (or creates) a database file with the settings the store is
// built for and migrates it:
//
//	store, db, err := sqlitestore.Open("app.db")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer db.Close()
//	m, err := users.New(store /* , options */)
//
// An application that opens the database itself — to share it with its own
// tables — passes the handle to [New]. It should open it with [DSN], or at
// least with these go-sqlite3 DSN parameters, which apply to every pooled
// connection (a PRAGMA run with db.Exec changes one connection only):
//
//	_foreign_keys=on      required: New refuses a connection without it
//	_busy_timeout=5000    wait for another writer instead of failing at once
//	_txlock=immediate     write transactions take the write lock up front
//	_journal_mode=WAL     readers never block the writer (New sets it anyway)
//	_synchronous=NORMAL   durable across application crashes, fast commits
//
//	db, err := sql.Open("sqlite3", sqlitestore.DSN("app.db"))
//	...
//	store, err := sqlitestore.New(db)
//
// # Schema
//
// New creates its tables on first use and upgrades them later from SQL files
// embedded in the package, each applied once in its own transaction and
// recorded in users_schema_migrations. Every table name starts with users_,
// so the store can live in the application's database. Times are stored as
// INTEGER unix microseconds and come back in UTC; user metadata is JSON text;
// email uniqueness is a unique index on the normalised key of users that
// have an email.
//
// # Queries
//
// ListUsers and CountUsers run one SELECT each, whose WHERE and ORDER BY
// are built from the store.UserQuery: nothing is filtered or sorted in Go.
// Strings compare and sort byte for byte (SQLite's BINARY collation). The
// case-insensitive filter operators and the search compare lower-cased
// copies of the user's fields, which the store writes itself with Go's
// strings.ToLower, because SQLite's lower() and LIKE fold only ASCII
// letters. Indexes serve a page of users filtered by status and/or role
// and sorted by email or creation time, the lists an admin screen shows;
// a search (a substring of the email or names) reads every user.
//
// # Concurrency
//
// Each method that writes runs in one transaction whose first statement is
// a write, so the transaction holds SQLite's write lock before it reads
// anything: even on a handle opened with deferred transactions no two
// writers act on the same snapshot, and ConsumeToken is single-use across
// goroutines, handles and processes. Within one Store writers queue on a
// Go lock rather than on SQLite's busy handler; across processes
// the busy timeout applies. The writers queued behind the lock when it
// frees commit together, in one transaction, each method's statements in a
// savepoint of their own: one that fails is rolled back alone, each sees
// the changes of the ones before it as if they ran one after another, and
// none returns before its changes are committed. A commit's fixed cost
// (file locks, the pages every write touches) is then paid once a group.
//
// Checkpoints (copying the write-ahead log back into the database file,
// with an fsync of each) run beside the writers instead of inside their
// commits. SQLite's own automatic checkpoint runs in the commit that takes
// the log past 1,000 pages, while every writer queued behind it waits,
// once every few dozen registrations. The Store turns it off on the
// connections it writes on, and a goroutine of its own checkpoints in
// PASSIVE mode (which never waits for readers or writers) shortly after
// commits. Once the log holds 8,192 pages (32 MiB of 4 KiB pages), that
// goroutine takes the write lock, waits for readers of the old log, copies
// what is left and starts the log again: the only checkpoint work writers
// wait for. The log's file therefore grows to about 32 MiB rather than
// SQLite's 4 MiB. [Store.Close] stops the goroutine; call it before
// closing the handle, whose last connection checkpoints what is left.
package sqlitestore
