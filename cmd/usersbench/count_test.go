package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
)

// The driver wrapper counts each statement once, transaction control
// included, and the rows each writes — through Exec, and through a query
// whose rows are read (UPDATE … RETURNING) — and nothing while off.
func TestSQLCounterCountsStatementsAndRows(t *testing.T) {
	t.Parallel()
	c := newSQLCounter()
	db := sql.OpenDB(&countingConnector{next: dsnConnector{dsn: filepath.Join(t.TempDir(), "c.db"), drv: &sqlite3.SQLiteDriver{}},
		c: c, rowsf: sqliteRows()})
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO t (v) VALUES (1), (2), (3)")
	require.NoError(t, err)
	assert.Empty(t, c.take(), "nothing counted while off")

	c.on.Store(true)
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("UPDATE t SET v = v + 1 WHERE v >= ?", 2)
	require.NoError(t, err)
	rows, err := tx.Query("UPDATE t SET v = 0 RETURNING id")
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
	}
	require.NoError(t, rows.Close())
	require.Equal(t, 3, n)
	var sum int
	require.NoError(t, tx.QueryRow("SELECT sum(v) FROM t").Scan(&sum))
	require.NoError(t, tx.Commit())
	c.on.Store(false)

	got := map[string]stmtCount{}
	for _, s := range c.take() {
		got[s.Text] = s
	}
	assert.Len(t, got, 5)
	assert.Equal(t, int64(2), got["UPDATE t SET v = v + 1 WHERE v >= ?"].Rows)
	assert.Equal(t, int64(3), got["UPDATE t SET v = 0 RETURNING id"].Rows)
	assert.Equal(t, int64(0), got["SELECT sum(v) FROM t"].Rows)
	assert.Equal(t, "BEGIN", got["BEGIN"].Verb)
	assert.Equal(t, int64(1), got["COMMIT"].N)
	for _, s := range got {
		assert.True(t, s.Known, s.Text)
	}
}

// -count-statements on SQLite: every flow is counted, each writes the
// rows it must (a registration: the user, its token and its mail), and a
// delivered mail is one update. Each flow also reports the pages its
// commits wrote: at least one per row written (a verification changes a
// token and a user, two rows on two pages), one commit per operation, and
// a registration, which inserts into every index of the users, tokens and
// mail tables, writes more pages than a verification.
func TestCountStatementsSQLite(t *testing.T) {
	t.Parallel()
	rep := countRun(t, "-store", "sqlite", "-db", filepath.Join(t.TempDir(), "users.db"))
	checkCounts(t, rep)
	pages := map[string]float64{}
	for _, f := range rep.Flows {
		if f.Flow == "deliver" {
			continue
		}
		pages[f.Flow] = f.WALPages
		assert.Equal(t, 1.0, f.Commits, f.Flow)
		assert.GreaterOrEqual(t, f.WALPages, f.Rows, f.Flow)
	}
	assert.GreaterOrEqual(t, pages["verify"], 2.0)
	assert.Greater(t, pages["register"], 2*pages["verify"])
}

// walMeter reads the frames of the log's current salt only: after a
// reset, frames left in the file from before it are not counted.
func TestWALMeterCountsFramesSinceReset(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "w.db")
	db := sql.OpenDB(&countingConnector{next: dsnConnector{dsn: "file:" + path + "?_journal_mode=WAL", drv: &sqlite3.SQLiteDriver{}},
		c: newSQLCounter(), rowsf: sqliteRows(), init: "PRAGMA wal_autocheckpoint=0"})
	db.SetMaxOpenConns(1)
	defer db.Close()
	m := &walMeter{db: db, path: path + "-wal"}
	_, err := db.Exec("CREATE TABLE t (v TEXT)")
	require.NoError(t, err)
	for range 5 {
		_, err = db.Exec("INSERT INTO t VALUES (randomblob(100))")
		require.NoError(t, err)
	}
	wc, err := m.read()
	require.NoError(t, err)
	assert.Equal(t, 6, wc.Commits, "one per statement: the table, then five rows")
	require.NoError(t, m.reset(t.Context()))
	wc, err = m.read()
	require.NoError(t, err)
	assert.Zero(t, wc.Frames, "TRUNCATE empties the log")
	_, err = db.Exec("INSERT INTO t VALUES (randomblob(100))")
	require.NoError(t, err)
	wc, err = m.read()
	require.NoError(t, err)
	assert.Equal(t, 1, wc.Commits)
	assert.Equal(t, 1, wc.Frames, "one row on the table's only page")
}

func TestCountStatementsPostgres(t *testing.T) {
	t.Parallel()
	checkCounts(t, countRun(t, "-store", "pg", "-dsn", testenv.Postgres.DSN(t)))
}

func TestCountStatementsMySQL(t *testing.T) {
	t.Parallel()
	dsn := testenv.MySQL.DSN(t)
	// The tool creates a database of its own: the DSN names the server.
	if i := strings.LastIndex(dsn, "/"); i >= 0 {
		dsn = dsn[:i+1]
	}
	checkCounts(t, countRun(t, "-store", "mysql", "-dsn", dsn))
}

func countRun(t *testing.T, args ...string) countReport {
	t.Helper()
	cfg, err := parseArgs(append([]string{"-count-statements", "-count-n", "3", "-json"}, args...), io.Discard)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))
	var rep countReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	var table bytes.Buffer
	require.NoError(t, rep.write(&table, true))
	assert.Contains(t, table.String(), "rows written")
	return rep
}

func checkCounts(t *testing.T, rep countReport) {
	t.Helper()
	flows := map[string]flowCount{}
	for _, f := range rep.Flows {
		flows[f.Flow] = f
		assert.Equal(t, 3, f.Ops)
		assert.Positive(t, f.Statements, f.Flow)
		assert.True(t, f.RowsKnown, f.Flow)
	}
	require.Len(t, flows, len(countFlows))
	verb := func(f, v string) float64 {
		for _, x := range flows[f].ByVerb {
			if x.Verb == v {
				return x.N
			}
		}
		return 0
	}
	for _, f := range []string{"register", "invite"} {
		assert.GreaterOrEqual(t, flows[f].Rows, 3.0, "%s writes the user, its token and its mail", f)
		assert.GreaterOrEqual(t, verb(f, "INSERT"), 3.0, "%s inserts the user, its token and its mail (and its event)", f)
	}
	for _, f := range []string{"verify", "accept", "reset"} {
		assert.GreaterOrEqual(t, flows[f].Rows, 2.0, "%s consumes the token and updates the user", f)
		// Two UPDATEs, or one of both rows (MySQL).
		assert.GreaterOrEqual(t, verb(f, "UPDATE"), 1.0, f)
	}
	assert.GreaterOrEqual(t, flows["login"].Rows, 1.0, "a login writes its session")
	assert.GreaterOrEqual(t, flows["refresh"].Rows, 1.0)
	assert.InDelta(t, 1.0, verb("deliver", "UPDATE"), 0.5, "about one update per mail delivered")
}

func TestTally(t *testing.T) {
	t.Parallel()
	fc := tally("x", 2, []stmtCount{
		{Text: "BEGIN", Verb: "BEGIN", N: 2, Known: true},
		{Text: "INSERT INTO a", Verb: "INSERT", N: 4, Rows: 4, Known: true},
		{Text: "PRAGMA x", Verb: "PRAGMA", N: 1, Known: true},
		{Text: "UPDATE b", Verb: "UPDATE", N: 2, Rows: 1, Known: false},
	})
	assert.Equal(t, 4.5, fc.Statements)
	assert.Equal(t, 2.5, fc.Rows)
	assert.False(t, fc.RowsKnown)
	assert.Equal(t, []verbCount{{"BEGIN", 1}, {"INSERT", 2}, {"UPDATE", 1}, {"other", 0.5}}, fc.ByVerb)
	assert.Equal(t, "WITH", sqlVerb("with x as (select 1) update t"))
	assert.False(t, writes("  SELECT 1"))
	assert.True(t, writes("UPDATE t SET a = 1"))
}
