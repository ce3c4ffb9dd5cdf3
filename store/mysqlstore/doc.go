// Package mysqlstore keeps the users library's data in MySQL (8.0 or later)
// or MariaDB (10.6 or later), through github.com/go-sql-driver/mysql and
// database/sql, for applications that run several instances on one
// database.
//
// # Store
//
// [New] returns a [Store], the store.Store on a *sql.DB the host app
// opened:
//
//	db, err := sql.Open("mysql", "app:secret@tcp(db.internal:3306)/app?interpolateParams=true")
//	...
//	store, err := mysqlstore.New(ctx, db)
//
// Each Store method that must be atomic is one transaction, so any number
// of instances may run any operations at once. Every transaction that
// reads runs at READ COMMITTED, whatever the server's default: the rows it
// decides on are read with SELECT … FOR UPDATE, which reads the latest
// committed version at any level, its plain reads see what committed
// before each statement, and READ COMMITTED takes no gap locks, so
// concurrent writers do not deadlock on each other's index ranges. The one
// transaction that only inserts (CreateUser of a new user with its token
// and mail) runs at the session's level, which changes nothing for it. Rows are locked in one order (the administrators' lock row for
// a Condition.KeepAdmin change, then users by id, then their tokens or
// sessions), so operations queue rather than deadlock; a deadlock (error
// 1213) or a lock wait timeout (1205) that happens anyway is retried,
// whole, after a jittered backoff ([WithRetries]). ClaimMail uses SELECT …
// FOR UPDATE SKIP LOCKED, so delivery workers on several instances never
// claim one mail twice and never wait for each other.
//
// # The DSN
//
// The store needs nothing special from the DSN: times are stored as BIGINT
// Unix microseconds (no parseTime, no loc, no time zone), migrations are
// sent one statement at a time (no multiStatements), and every statement's
// isolation is set by the store. It needs the database to be named
// (/dbname) and the connection's character set to be utf8mb4, the driver's
// default; New checks both. Recommended: interpolateParams=true, which
// sends each statement with its arguments in one round trip instead of a
// prepare, an execute and a close (the driver escapes the arguments itself,
// safely for utf8mb4). Recommended too: the session at READ COMMITTED, the level
// every write transaction of the store runs at (tx_isolation=%27READ-COMMITTED%27
// on MariaDB before 11.1, transaction_isolation=%27READ-COMMITTED%27 on
// MySQL and later MariaDB): New reads the level of one connection, and
// when it is READ COMMITTED the transactions do not set it, a round trip
// fewer for each. On MariaDB, interpolateParams=true also lets ConsumeToken
// (verifying an address, accepting an invitation, resetting a password)
// run in one round trip: an anonymous block (BEGIN NOT ATOMIC … END) locks
// the token's user and the token, and consumes the token, changes the user
// and writes the effects only if the token is live and the user satisfies
// the condition; New tries one block and otherwise does without. Optional:
// multiStatements=true with interpolateParams=true lets the store send the
// inserts of a new user (a registration, an invitation: the user, its
// token, its mail and its events) as one transaction in one round trip
// instead of six, and ConsumeToken in two round trips where the server has
// no anonymous blocks (MySQL); New tries it once (DO ?; DO ?) and otherwise
// sends one statement at a time. The store's own statements are all
// parameterised, but the setting applies to every statement sent on the
// handle: give the store a handle of its own if the application builds SQL
// from strings elsewhere.
//
// Whatever the DSN, the frequent reads (a user by id or by email, a token
// and its user, the settings, a role, a policy, a session) and the update
// of a mail after its delivery are server-side prepared statements, prepared on a connection the first time it runs
// them and kept while it is open: the server parses them once per
// connection instead of once per call, and MariaDB sends their column
// definitions only when they change. Each connection holds up to a dozen
// of them; the server's max_prepared_stmt_count (16,382 by default) bounds
// the prepared statements of all its connections.
//
// # Text and ordering
//
// Every text column is utf8mb4 with the server's binary NO PAD collation
// (MariaDB's utf8mb4_nopad_bin, MySQL's utf8mb4_0900_bin): equality is
// exact and case-sensitive, trailing spaces included, as in PostgreSQL and
// SQLite, and the unique index on the normalised email enforces one user
// per address. Databases created before schema version 10 used
// utf8mb4_bin, which pads (trailing spaces are ignored in comparisons,
// so "id " named the user "id"); that migration converts them, and every
// migration's tables are created with the NO PAD collation. The
// store compares and sorts user fields through CAST(… AS BINARY): sorting
// is by the UTF-8 bytes, as Go sorts strings. The case-insensitive filters
// (_icontains…) and UserQuery.Search compare lower-cased copies of the
// fields, which the store writes with strings.ToLower, so they match what
// Go's lower-casing matches in every script (the servers' LOWER uses older
// Unicode tables); a status, one of a few ASCII words, is lower-cased by
// the server. Ids and keys are compared with the column's collation, so two
// ids that differ only in trailing spaces are two ids.
//
// # Limiter
//
// [NewLimiter] returns a [Limiter], a users.Limiter whose
// sliding-window counts live in the database, so that all instances share
// one count per key where users.MemoryLimiter counts per process.
//
// # Schema
//
// New and NewLimiter bring the schema up to date when called, from
// migrations embedded in the package (users_schema_migrations records
// them). GET_LOCK holds the migration lock for a session, so the migrator
// takes one connection from the pool for the whole migration; instances
// starting together migrate once, and the others wait for it. Every table
// name starts with users_, so the store can live in the application's
// database.
package mysqlstore
