package main

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// sqlCounter counts the SQL statements a store sends and the rows they
// write, while it is on. It sits below the store: a database/sql driver
// wrapper (SQLite, MySQL) or a pgx tracer (PostgreSQL), so the store runs
// unchanged. Transaction control counts as statements (BEGIN, COMMIT,
// ROLLBACK), as each costs a round trip or a lock.
type sqlCounter struct {
	on    atomic.Bool
	mu    sync.Mutex
	stmts map[string]*stmtCount // by normalized text
}

// stmtCount is one statement's tally.
type stmtCount struct {
	Text  string `json:"sql"`
	Verb  string `json:"verb"`
	N     int64  `json:"n"`
	Rows  int64  `json:"rows_written"`
	Known bool   `json:"-"` // rows written known for every execution
}

func newSQLCounter() *sqlCounter { return &sqlCounter{stmts: map[string]*stmtCount{}} }

// record counts one execution of query that wrote rows rows (-1: not
// known).
func (c *sqlCounter) record(query string, rows int64) {
	if !c.on.Load() {
		return
	}
	text := normalizeSQL(query)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts[text]
	if s == nil {
		s = &stmtCount{Text: text, Verb: sqlVerb(text), Known: true}
		c.stmts[text] = s
	}
	s.N++
	if rows < 0 {
		s.Known = false
	} else {
		s.Rows += rows
	}
}

// take returns the counts since the last take, most executed first, and
// starts afresh.
func (c *sqlCounter) take() []stmtCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]stmtCount, 0, len(c.stmts))
	for _, k := range slices.Sorted(maps.Keys(c.stmts)) {
		out = append(out, *c.stmts[k])
	}
	slices.SortStableFunc(out, func(a, b stmtCount) int { return int(b.N - a.N) })
	c.stmts = map[string]*stmtCount{}
	return out
}

var spaces = regexp.MustCompile(`\s+`)

// normalizeSQL folds a statement's white space, so that one statement
// written over several lines counts as one.
func normalizeSQL(q string) string { return strings.TrimSpace(spaces.ReplaceAllString(q, " ")) }

// sqlVerb is a statement's first keyword, upper case ("SELECT", "INSERT",
// "WITH", "BEGIN"…).
func sqlVerb(q string) string {
	f, _, _ := strings.Cut(strings.TrimLeft(q, "( "), " ")
	return strings.ToUpper(strings.TrimSuffix(f, ";"))
}

// writes says whether a statement may write rows.
func writes(q string) bool {
	switch sqlVerb(normalizeSQL(q)) {
	case "SELECT", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "SHOW", "PRAGMA":
		return false
	}
	return true
}

// ---- database/sql: a driver wrapper ----

// rowsWritten says how many rows the statement just finished on conn
// wrote; res is its Result for an Exec, nil after a Query. It runs on the
// underlying connection, uncounted; -1: not known.
type rowsWritten func(ctx context.Context, conn sqldriver.Conn, query string, res sqldriver.Result) int64

// countingConnector opens connections of an underlying connector and
// counts what runs on them.
type countingConnector struct {
	next  sqldriver.Connector
	c     *sqlCounter
	rowsf rowsWritten
	// init, when set, runs on each new connection, uncounted.
	init string
}

func (k *countingConnector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	conn, err := k.next.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if k.init != "" {
		ex, ok := conn.(sqldriver.ExecerContext)
		if !ok {
			conn.Close()
			return nil, fmt.Errorf("count: the driver's connections cannot run %q", k.init)
		}
		if _, err := ex.ExecContext(ctx, k.init, nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("count: %s: %w", k.init, err)
		}
	}
	return &countingConn{Conn: conn, k: k}, nil
}

func (k *countingConnector) Driver() sqldriver.Driver { return k.next.Driver() }

// dsnConnector is a sqldriver.Connector for a driver that has none.
type dsnConnector struct {
	dsn string
	drv sqldriver.Driver
}

func (d dsnConnector) Connect(context.Context) (sqldriver.Conn, error) { return d.drv.Open(d.dsn) }
func (d dsnConnector) Driver() sqldriver.Driver                        { return d.drv }

type countingConn struct {
	sqldriver.Conn
	k *countingConnector
}

// done counts a finished statement. Rows written are read even while the
// counter is off, so that a counter kept per connection (SQLite's
// total_changes) stays current.
//
// Several statements sent at once (MySQL's multiStatements: the store
// separates them with ";\n") count one by one, each with its rows changed
// when the driver reports them per statement.
func (c *countingConn) done(ctx context.Context, query string, res sqldriver.Result) {
	if parts := strings.Split(query, ";\n"); len(parts) > 1 {
		var all []int64
		if r, ok := res.(interface{ AllRowsAffected() []int64 }); ok {
			all = r.AllRowsAffected()
		}
		for i, q := range parts {
			rows := int64(-1)
			if i < len(all) {
				rows = all[i]
			}
			if !writes(q) {
				rows = 0
			}
			c.k.c.record(q, rows)
		}
		return
	}
	rows := int64(0)
	if writes(query) {
		rows = c.k.rowsf(ctx, c.Conn, query, res)
	}
	c.k.c.record(query, rows)
}

func (c *countingConn) Prepare(query string) (sqldriver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (sqldriver.Stmt, error) {
	var (
		st  sqldriver.Stmt
		err error
	)
	if p, ok := c.Conn.(sqldriver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, conn: c, query: query}, nil
}

func (c *countingConn) Begin() (sqldriver.Tx, error) {
	return c.BeginTx(context.Background(), sqldriver.TxOptions{})
}

func (c *countingConn) BeginTx(ctx context.Context, opts sqldriver.TxOptions) (sqldriver.Tx, error) {
	var (
		tx  sqldriver.Tx
		err error
	)
	if b, ok := c.Conn.(sqldriver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = c.Conn.Begin() //nolint:staticcheck // the driver has nothing else
	}
	if err != nil {
		return nil, err
	}
	if opts.Isolation != 0 {
		// go-sql-driver/mysql sends this before its START TRANSACTION
		// when a transaction asks for a level: a round trip of its own.
		c.k.c.record("SET TRANSACTION ISOLATION LEVEL", 0)
	}
	c.k.c.record("BEGIN", 0)
	return &countingTx{Tx: tx, c: c.k.c}, nil
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	e, ok := c.Conn.(sqldriver.ExecerContext)
	if !ok {
		return nil, sqldriver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if err == nil {
		c.done(ctx, query, res)
	}
	return res, err
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	q, ok := c.Conn.(sqldriver.QueryerContext)
	if !ok {
		return nil, sqldriver.ErrSkip
	}
	if strings.HasPrefix(query, "BEGIN NOT ATOMIC") {
		return c.queryBlock(ctx, q, query, args)
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return &countingRows{Rows: rows, done: func() { c.done(ctx, query, nil) }}, nil
}

// handlerRows is the rows the session has written so far (MariaDB's
// handler counts: rows inserted, updated, deleted).
const handlerRows = `SELECT CAST(COALESCE(SUM(VARIABLE_VALUE), 0) AS SIGNED) FROM information_schema.SESSION_STATUS
WHERE VARIABLE_NAME IN ('HANDLER_WRITE', 'HANDLER_UPDATE', 'HANDLER_DELETE')`

// blockSyntax matches the lines of an anonymous block (MariaDB's BEGIN NOT
// ATOMIC … END) that are no statement of their own.
var blockSyntax = regexp.MustCompile(`^(BEGIN NOT ATOMIC|DECLARE .*|IF .* THEN|END IF|END)$`)

// queryBlock runs an anonymous block and counts each statement in it; the
// rows the block wrote (the session's handler counts before and after)
// go to its first INSERT, UPDATE or DELETE, as the block reports no rows
// per statement.
func (c *countingConn) queryBlock(ctx context.Context, q sqldriver.QueryerContext, query string, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	before := queryInt(ctx, c.Conn, handlerRows)
	rows, err := q.QueryContext(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return &countingRows{Rows: rows, done: func() {
		written := queryInt(ctx, c.Conn, handlerRows) - before
		for _, part := range strings.Split(query, ";\n") {
			var lines []string
			for _, l := range strings.Split(part, "\n") {
				if !blockSyntax.MatchString(strings.TrimSpace(l)) {
					lines = append(lines, l)
				}
			}
			stmt := strings.Join(lines, "\n")
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			n := int64(0)
			if v := sqlVerb(stmt); v == "INSERT" || v == "UPDATE" || v == "DELETE" {
				n, written = max(written, 0), 0
			}
			c.k.c.record(stmt, n)
		}
	}}, nil
}

func (c *countingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(sqldriver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(sqldriver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.Conn.(sqldriver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *countingConn) CheckNamedValue(nv *sqldriver.NamedValue) error {
	if ch, ok := c.Conn.(sqldriver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return sqldriver.ErrSkip
}

type countingStmt struct {
	sqldriver.Stmt
	conn  *countingConn
	query string
}

func (s *countingStmt) ExecContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	var (
		res sqldriver.Result
		err error
	)
	if e, ok := s.Stmt.(sqldriver.StmtExecContext); ok {
		res, err = e.ExecContext(ctx, args)
	} else {
		res, err = s.Stmt.Exec(namedToValues(args)) //nolint:staticcheck // the driver has nothing else
	}
	if err == nil {
		s.conn.done(ctx, s.query, res)
	}
	return res, err
}

func (s *countingStmt) QueryContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	var (
		rows sqldriver.Rows
		err  error
	)
	if q, ok := s.Stmt.(sqldriver.StmtQueryContext); ok {
		rows, err = q.QueryContext(ctx, args)
	} else {
		rows, err = s.Stmt.Query(namedToValues(args)) //nolint:staticcheck // the driver has nothing else
	}
	if err != nil {
		return nil, err
	}
	return &countingRows{Rows: rows, done: func() { s.conn.done(ctx, s.query, nil) }}, nil
}

func (s *countingStmt) CheckNamedValue(nv *sqldriver.NamedValue) error {
	if ch, ok := s.Stmt.(sqldriver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

func namedToValues(args []sqldriver.NamedValue) []sqldriver.Value {
	out := make([]sqldriver.Value, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}

// countingRows counts its statement when closed: a statement's writes
// (UPDATE … RETURNING) are done once its rows are read.
type countingRows struct {
	sqldriver.Rows
	once sync.Once
	done func()
}

// HasNextResultSet and NextResultSet pass the driver's further results
// on (several statements sent at once, an anonymous block's results).
func (r *countingRows) HasNextResultSet() bool {
	n, ok := r.Rows.(sqldriver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *countingRows) NextResultSet() error {
	n, ok := r.Rows.(sqldriver.RowsNextResultSet)
	if !ok {
		return io.EOF
	}
	return n.NextResultSet()
}

func (r *countingRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.done)
	return err
}

type countingTx struct {
	sqldriver.Tx
	c *sqlCounter
}

func (t *countingTx) Commit() error {
	err := t.Tx.Commit()
	t.c.record("COMMIT", 0)
	return err
}

func (t *countingTx) Rollback() error {
	err := t.Tx.Rollback()
	t.c.record("ROLLBACK", 0)
	return err
}

// queryInt runs a one-value query on conn, uncounted; -1 on failure.
func queryInt(ctx context.Context, conn sqldriver.Conn, query string) int64 {
	q, ok := conn.(sqldriver.QueryerContext)
	if !ok {
		return -1
	}
	rows, err := q.QueryContext(ctx, query, nil)
	if err != nil {
		return -1
	}
	defer rows.Close()
	v := make([]sqldriver.Value, 1)
	if err := rows.Next(v); err != nil && !errors.Is(err, io.EOF) {
		return -1
	}
	if n, ok := v[0].(int64); ok {
		return n
	}
	return -1
}

// sqliteRows reads SQLite's total_changes() — rows inserted, updated or
// deleted on the connection, by its statements and their triggers — and
// returns its growth since the last statement on the same connection.
func sqliteRows() rowsWritten {
	var mu sync.Mutex
	last := map[sqldriver.Conn]int64{}
	return func(ctx context.Context, conn sqldriver.Conn, _ string, _ sqldriver.Result) int64 {
		n := queryInt(ctx, conn, "SELECT total_changes()")
		if n < 0 {
			return -1
		}
		mu.Lock()
		defer mu.Unlock()
		d := n - last[conn]
		last[conn] = n
		return d
	}
}

// mysqlRows takes an Exec's RowsAffected (rows changed, as MySQL counts
// them) and asks ROW_COUNT() after a query.
func mysqlRows(ctx context.Context, conn sqldriver.Conn, _ string, res sqldriver.Result) int64 {
	if res != nil {
		n, err := res.RowsAffected()
		if err != nil {
			return -1
		}
		return n
	}
	return max(queryInt(ctx, conn, "SELECT ROW_COUNT()"), 0)
}

// ---- pgx: a tracer ----

// pgxCounter is a pgx.QueryTracer and pgx.BatchTracer feeding a
// sqlCounter; rows written come from each command tag.
type pgxCounter struct{ c *sqlCounter }

type pgxQueryKey struct{}

func (p pgxCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, pgxQueryKey{}, d.SQL)
}

func (p pgxCounter) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if q, ok := ctx.Value(pgxQueryKey{}).(string); ok && d.Err == nil {
		p.c.record(q, tagRows(d.CommandTag))
	}
}

func (p pgxCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (p pgxCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if d.Err == nil {
		p.c.record(d.SQL, tagRows(d.CommandTag))
	}
}

func (p pgxCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func tagRows(t interface {
	Insert() bool
	Update() bool
	Delete() bool
	RowsAffected() int64
}) int64 {
	if t.Insert() || t.Update() || t.Delete() {
		return t.RowsAffected()
	}
	return 0
}
