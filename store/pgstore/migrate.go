package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/gousers/users/store/internal/sqlstore"
)

// migrationFS holds the schema migrations, named NNNN_description.sql and
// applied in the order of NNNN. A migration, once released, never changes:
// a schema change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// lockNamespace is hashed with the schema name into the key of the
// migration advisory lock, so that instances migrating one schema queue up
// while other schemas (other apps, parallel test runs) migrate at once.
const lockNamespace = "github.com/gousers/users/store/pgstore migrate "

// migrate applies the migrations the schema lacks. Everything happens in
// one transaction that first takes a transaction-scoped advisory lock:
// concurrent migrators wait for the first to commit, then find the schema
// up to date (each statement of a read-committed transaction sees what was
// committed before it started). The lock is released by the commit or
// rollback, so a migrator that dies holds nothing. PostgreSQL's DDL is
// transactional: a failed migration leaves no trace.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqlstore.Migrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	wrap := func(err error) error { return wrapErr(ctx, "migrate", err) }
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	schema := s.schema
	if schema == "" {
		var cur *string
		if err := tx.QueryRow(ctx, "SELECT current_schema()").Scan(&cur); err != nil {
			return wrap(err)
		}
		if cur == nil {
			return wrap(errors.New("no schema of the connection's search_path exists; create one or use WithSchema"))
		}
		schema = *cur
	}
	s.adminLock = adminLockNamespace + schema
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", lockNamespace+schema); err != nil {
		return wrap(err)
	}
	if s.schema != "" {
		id := pgx.Identifier{s.schema}.Sanitize()
		// Under the lock, so concurrent creators do not collide; the
		// migrations then run unqualified, in that schema.
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+id+"; SET LOCAL search_path TO "+id); err != nil {
			return wrap(err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS users_schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return wrap(err)
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM users_schema_migrations").Scan(&current); err != nil {
		return wrap(err)
	}
	if latest := sqlstore.Latest(ms); current > latest {
		return wrap(fmt.Errorf("schema %q is at version %d, newer than this code's %d: upgrade the code", schema, current, latest))
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return wrap(fmt.Errorf("migration %s: %w", m.Name, err))
		}
		if step := goSteps[m.Version]; step != nil {
			if err := step(ctx, tx); err != nil {
				return wrap(fmt.Errorf("migration %s: %w", m.Name, err))
			}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO users_schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return wrap(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(err)
	}
	return nil
}

// goSteps are the parts of a migration written in Go, run after the
// version's SQL in the same transaction.
var goSteps = map[int]func(ctx context.Context, tx pgx.Tx) error{
	3: fillLowered,
}

// fillLowered fills the lower-cased copies (version 3) for the users that
// exist, as strings.ToLower folds them.
func fillLowered(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, email, first_name, last_name, status, role FROM users_users`)
	if err != nil {
		return err
	}
	type row struct {
		id, email, first, last, status string
		role                           *string
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.email, &x.first, &x.last, &x.status, &x.role)
		return x, err
	})
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, r := range all {
		b.Queue(`UPDATE users_users SET id_lower = $2, email_lower = $3, first_name_lower = $4, last_name_lower = $5,
	status_lower = $6, role_lower = $7 WHERE id = $1`,
			r.id, strings.ToLower(r.id), strings.ToLower(r.email), strings.ToLower(r.first), strings.ToLower(r.last),
			strings.ToLower(r.status), sqlstore.LowerPtr(r.role))
	}
	return tx.SendBatch(ctx, b).Close()
}
