package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/gousers/users/store/internal/sqlstore"
)

// migrationFiles holds the schema, one file per version, named
// NNNN_description.sql. A released file is never edited: a change is a new
// file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// SchemaVersion is the schema version this package migrates a database
// to: the highest version among its embedded migrations.
func SchemaVersion() int {
	ms, err := sqlstore.Migrations(migrationFiles, "migrations")
	if err != nil {
		return 0
	}
	return sqlstore.Latest(ms)
}

// migrate applies every embedded migration db has not recorded yet, each in
// its own transaction together with its row in users_schema_migrations.
// Several processes may migrate one database at once: each transaction
// starts with the insert of its version row, which takes the write lock,
// so exactly one of them applies a given version and the others see it
// applied.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := sqlstore.Migrations(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
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
	if latest := sqlstore.Latest(ms); current > latest {
		return fmt.Errorf("sqlitestore: the database's schema is at version %d, newer than this package's %d: upgrade github.com/gousers/users", current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("sqlitestore: migrate to version %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m sqlstore.Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		`INSERT INTO users_schema_migrations (version, name, applied_at) VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING`,
		m.Version, m.Name, sqlstore.Micros(time.Now()))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // another process applied it meanwhile
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if step := goSteps[m.Version]; step != nil {
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
