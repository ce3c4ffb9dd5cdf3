package mysqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/gousers/users/store/internal/sqlstore"
)

// migrationFS holds the schema migrations, named NNNN_description.sql and
// applied in the order of NNNN. A migration, once released, never changes:
// a schema change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// splitStatements splits a migration file into its statements, so that
// the DSN needs no multiStatements: a statement ends with a ';' at the end
// of a line; lines starting with "--" are comments.
func splitStatements(src string) []string {
	var (
		stmts []string
		cur   strings.Builder
	)
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			if st := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); st != "" {
				stmts = append(stmts, st)
			}
			cur.Reset()
		}
	}
	if st := strings.TrimSpace(cur.String()); st != "" {
		stmts = append(stmts, st)
	}
	return stmts
}

// flavour adapts a migration's statements to the server: a statement
// starting "MARIADB:" runs on MariaDB only, one starting "MYSQL:" on MySQL
// only (the prefix is removed), and {{nopad_bin}} names the binary NO PAD
// collation, which compares strings byte for byte, trailing spaces
// included (MariaDB's utf8mb4_nopad_bin, MySQL's utf8mb4_0900_bin;
// utf8mb4_bin pads). utf8mb4_bin, which the migrations before 0010 name,
// is read as that collation too, so that every table is created with it
// and a foreign key from a later table joins columns of one collation.
func flavour(stmts []string, mariaDB bool) []string {
	nopad := "utf8mb4_0900_bin"
	if mariaDB {
		nopad = "utf8mb4_nopad_bin"
	}
	out := make([]string, 0, len(stmts))
	for _, st := range stmts {
		if rest, ok := strings.CutPrefix(st, "MARIADB:"); ok {
			if !mariaDB {
				continue
			}
			st = rest
		} else if rest, ok := strings.CutPrefix(st, "MYSQL:"); ok {
			if mariaDB {
				continue
			}
			st = rest
		}
		st = strings.ReplaceAll(st, "{{nopad_bin}}", nopad)
		out = append(out, strings.TrimSpace(strings.ReplaceAll(st, "utf8mb4_bin", nopad)))
	}
	return out
}

// SchemaVersion is the schema version this package migrates a database
// to: the highest version among its embedded migrations.
func SchemaVersion() int {
	ms, err := sqlstore.Migrations(migrationFS, "migrations")
	if err != nil {
		return 0
	}
	return sqlstore.Latest(ms)
}

// lockWait is how long one GET_LOCK call waits before the migrator checks
// its context and asks again.
const lockWait = 2 * time.Second

// migrate applies the migrations the database lacks, under a named lock.
//
// GET_LOCK is held by a session, not a transaction, so the whole migration
// runs on one connection taken from the pool (a *sql.Conn) that takes the
// lock, applies what is missing and releases it; a migrator that dies
// loses its session and with it the lock. The lock's name is derived from
// the database's name (locks are server-wide), so instances migrating one
// database queue up while other databases migrate at once. MySQL's DDL is
// not transactional: each migration's statements are idempotent, and its
// version is recorded after the last one, so a migration cut short is
// applied again, whole, by the next migrator.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	ms, err := sqlstore.Migrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("mysqlstore: %w", err)
	}
	wrap := func(err error) error { return wrapErr(ctx, "migrate", err) }
	conn, err := db.Conn(ctx)
	if err != nil {
		return wrap(err)
	}
	defer conn.Close()
	database, mariaDB, err := checkServer(ctx, conn)
	if err != nil {
		return wrap(err)
	}
	lock := migrationLockName(database)
	if err := getLock(ctx, conn, lock); err != nil {
		return wrap(err)
	}
	defer func() {
		// ctx may have ended: release anyway. If that fails, the
		// connection is closed rather than pooled, which releases it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		var released sql.NullInt64
		if rerr := conn.QueryRowContext(rctx, "SELECT RELEASE_LOCK(?)", lock).Scan(&released); rerr != nil || released.Int64 != 1 {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // discards the connection
		}
	}()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users_schema_migrations (
	version    INT NOT NULL,
	name       VARCHAR(255) NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`); err != nil {
		return wrap(err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM users_schema_migrations").Scan(&current); err != nil {
		return wrap(err)
	}
	if latest := sqlstore.Latest(ms); current > latest {
		return wrap(fmt.Errorf("database %q is at schema version %d, newer than this code's %d: upgrade the code", database, current, latest))
	}
	defer func() {
		// A migration cut short may leave foreign key checks off on
		// this connection (0010 turns them off): never pool it so.
		if err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		for _, st := range flavour(splitStatements(m.SQL), mariaDB) {
			if _, err := conn.ExecContext(ctx, st); err != nil {
				// MySQL has no ADD COLUMN IF NOT EXISTS: a column that a
				// migration cut short added already is left as it is.
				if me := mysqlErr(err); me != nil && me.Number == erDupFieldName && strings.Contains(st, "ADD COLUMN") {
					continue
				}
				return wrap(fmt.Errorf("migration %s: %w", m.Name, err))
			}
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO users_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, sqlstore.Micros(time.Now())); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// migrationLockName is the GET_LOCK name for database: at most 64
// characters (MySQL's limit), unique per database on the server.
func migrationLockName(database string) string {
	h := sha256.Sum256([]byte(database))
	return "gousers-migrate-" + hex.EncodeToString(h[:20])
}

// getLock takes the named lock on conn, waiting while ctx lasts.
func getLock(ctx context.Context, conn *sql.Conn, name string) error {
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int(lockWait/time.Second)).Scan(&got); err != nil {
			return err
		}
		if got.Valid && got.Int64 == 1 {
			return nil
		}
		if !got.Valid {
			return fmt.Errorf("GET_LOCK(%s) failed", name)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
