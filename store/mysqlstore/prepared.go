package mysqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// prepared runs the store's frequent reads as server-side prepared
// statements, whatever the DSN says about interpolateParams: the server
// parses each one once per connection instead of once per call, answers
// in its binary protocol, and (MariaDB) sends the result's column
// definitions only when they change. A statement is prepared on the
// first call that runs it, and database/sql prepares it again on each
// connection of the pool that runs it (once per connection, kept until
// the connection closes): at most a dozen statements per connection,
// far below the server's max_prepared_stmt_count.
//
// Only fixed statement texts go through it (never one built from a
// query's filter), so the set stays small: the reads of one user, token,
// session, role, policy or the settings, and the update of a mail after
// its delivery. Writes inside transactions keep the handle's own way of
// sending statements.
type prepared struct {
	db *sql.DB
	mu sync.Mutex // held while preparing
	m  sync.Map   // query → *sql.Stmt
}

func newPrepared(db *sql.DB) *prepared {
	return &prepared{db: db}
}

// stmt returns query prepared on the handle, preparing it on first use.
func (p *prepared) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.m.Store(query, st)
	return st, nil
}

// QueryContext runs query, prepared, with args.
func (p *prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// ExecContext runs query, prepared, with args.
func (p *prepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryRowContext runs query, prepared, with args; a failed preparation
// is the row's error.
func (p *prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil {
		// A *sql.Row cannot be made with an error from outside the
		// package: run the statement unprepared, which reports the same
		// error (or succeeds, when the preparation failed for a reason
		// of its own).
		return p.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
