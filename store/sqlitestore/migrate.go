package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema, one file per version, named
// NNNN_description.sql. A released file is never edited: a change is a new
// file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlitestore: migration %s: name must start with a positive version number and '_'", name)
		}
		b, err := migrationFiles.ReadFile(path)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlitestore: migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this package migrates a database
// to: the highest version among its embedded migrations.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies every embedded migration db has not recorded yet, each in
// its own transaction together with its row in users_schema_migrations.
// Several processes may migrate one database at once: each transaction
// starts with the insert of its version row, which takes the write lock,
// so exactly one of them applies a given version and the others see it
// applied.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users_schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)`); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM users_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("sqlitestore: the database's schema is at version %d, newer than this package's %d: upgrade github.com/gousers/users", current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("sqlitestore: migrate to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		`INSERT INTO users_schema_migrations (version, name, applied_at) VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING`,
		m.version, m.name, toDB(time.Now()))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // another process applied it meanwhile
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if step := goSteps[m.version]; step != nil {
		if err := step(ctx, tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// goSteps are the parts of a migration written in Go, run after the
// version's SQL in the same transaction.
var goSteps = map[int]func(ctx context.Context, tx *sql.Tx) error{
	2: fillLowered,
}

// fillLowered fills the lower-cased copies (version 2) for the users that
// exist: SQL's lower() folds only ASCII, the store folds as strings.ToLower.
func fillLowered(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, email, first_name, last_name, status, role FROM users_users`)
	if err != nil {
		return err
	}
	type row struct {
		id, email, first, last, status string
		role                           sql.NullString
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.email, &r.first, &r.last, &r.status, &r.role); err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range all {
		var role any
		if r.role.Valid {
			role = strings.ToLower(r.role.String)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users_users SET id_lower = ?, email_lower = ?, first_name_lower = ?,
	last_name_lower = ?, status_lower = ?, role_lower = ? WHERE id = ?`,
			strings.ToLower(r.id), strings.ToLower(r.email), strings.ToLower(r.first), strings.ToLower(r.last),
			strings.ToLower(r.status), role, r.id); err != nil {
			return err
		}
	}
	return nil
}
