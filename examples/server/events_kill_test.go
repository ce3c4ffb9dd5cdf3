package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/mysqlstore"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/userstest"
)

// The kill test: a child process (this test binary, re-executed) commits
// changes — each with its event — and starts delivering them; its handler
// records each event it finishes and, at the seventh, stops mid-handling
// and says so; the parent then kills it with SIGKILL. A new Manager on the
// same database, its clock past the dead worker's leases, delivers the
// rest: every event is handled at least once, none is lost.

const (
	killChildEnv = "USERS_EVENTS_KILL_CHILD"
	killUsers    = 12 // each: created, then updated → 24 events
	killAt       = 7  // the child's handler blocks on this delivery
)

// openKillStore opens the store of kind at dsn.
func openKillStore(ctx context.Context, kind, dsn string) (store.Store, func(), error) {
	switch kind {
	case "sqlite":
		s, db, err := sqlitestore.Open(dsn)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close(); _ = db.Close() }, nil
	case "pg":
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return nil, nil, err
		}
		s, err := pgstore.New(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, pool.Close, nil
	case "mysql":
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return nil, nil, err
		}
		s, err := mysqlstore.New(ctx, db)
		if err != nil {
			_ = db.Close()
			return nil, nil, err
		}
		return s, func() { _ = db.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q", kind)
}

// TestEventsKillChild is the child's side; it runs only when re-executed.
func TestEventsKillChild(t *testing.T) {
	spec := os.Getenv(killChildEnv)
	if spec == "" {
		return // a helper: TestEventsSurviveKill runs it in a child process
	}
	kind, rest, _ := strings.Cut(spec, "|")
	dir, dsn, _ := strings.Cut(rest, "|")
	ctx := context.Background()
	s, closeStore, err := openKillStore(ctx, kind, dsn)
	require.NoError(t, err)
	defer closeStore()
	done, err := os.OpenFile(filepath.Join(dir, "handled"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	var (
		mu sync.Mutex
		n  int
	)
	handler := func(_ context.Context, e users.Event) error {
		mu.Lock()
		n++
		block := n == killAt
		mu.Unlock()
		if block {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "blocked"), []byte(strconv.FormatInt(e.ID, 10)), 0o600))
			select {} // mid-handling, until killed
		}
		if _, err := fmt.Fprintln(done, e.ID); err != nil {
			return err
		}
		return done.Sync()
	}
	m, err := users.New(s, memmailer.New(), users.WithHasher(userstest.Hasher{}),
		users.Hooks{Handlers: map[string]func(context.Context, users.Event) error{"app": handler}},
		users.Delivery{Concurrency: 1, BatchSize: 5})
	require.NoError(t, err)
	for i := range killUsers {
		u, err := m.CreateUser(ctx, users.CreateUserInput{Email: fmt.Sprintf("u%d@example.com", i)})
		require.NoError(t, err)
		name := "N"
		_, err = m.UpdateUser(ctx, u.ID, users.UserPatch{FirstName: &name})
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "committed"), nil, 0o600))
	_ = m.Run(ctx) // until killed
}

func TestEventsSurviveKill(t *testing.T) {
	for _, kind := range []string{"sqlite", "pg", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			var dsn string
			switch kind {
			case "sqlite":
				dsn = filepath.Join(t.TempDir(), "kill.db")
			case "pg":
				dsn = postgresSchemaDSN(t)
			case "mysql":
				_, _, name := mysqlDatabase(t)
				cfg, err := mysql.ParseDSN(os.Getenv("USERS_TEST_MYSQL_DSN"))
				require.NoError(t, err)
				cfg.DBName = name
				dsn = cfg.FormatDSN()
			}
			testEventsSurviveKill(t, kind, dsn)
		})
	}
}

func testEventsSurviveKill(t *testing.T, kind, dsn string) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEventsKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+kind+"|"+dir+"|"+dsn)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "blocked")); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the child ended before its handler blocked: %v\n%s", err, out.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the child's handler did not block within 2 minutes\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err := <-exited
	require.Error(t, err, "killed")
	assert.Contains(t, err.Error(), "killed")

	readIDs := func(name string) []int64 {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		defer f.Close()
		var ids []int64
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			id, err := strconv.ParseInt(strings.TrimSpace(sc.Text()), 10, 64)
			require.NoError(t, err)
			ids = append(ids, id)
		}
		return ids
	}
	before := readIDs("handled")
	blockedRaw, err := os.ReadFile(filepath.Join(dir, "blocked"))
	require.NoError(t, err)
	blocked, err := strconv.ParseInt(string(blockedRaw), 10, 64)
	require.NoError(t, err)

	// A new process (here: a new Manager on a new connection) after the
	// leases ended.
	ctx := context.Background()
	s, closeStore, err := openKillStore(ctx, kind, dsn)
	require.NoError(t, err)
	defer closeStore()
	var (
		mu    sync.Mutex
		after []int64
	)
	later := time.Now().Add(10 * time.Minute)
	m, err := users.New(s, memmailer.New(), users.WithHasher(userstest.Hasher{}), users.WithClock(func() time.Time { return later }),
		users.Hooks{Handlers: map[string]func(context.Context, users.Event) error{"app": func(_ context.Context, e users.Event) error {
			mu.Lock()
			defer mu.Unlock()
			after = append(after, e.ID)
			return nil
		}}})
	require.NoError(t, err)
	for range 2 * killUsers * 2 {
		rep, err := m.DeliverEvents(ctx)
		require.NoError(t, err)
		if rep.Sent == 0 {
			break
		}
	}
	all, err := m.ListActivity(ctx, users.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, all, 2*killUsers, "every change's event was committed with it")
	handled := map[int64]int{}
	for _, id := range before {
		handled[id]++
	}
	for _, id := range after {
		handled[id]++
	}
	var lost []int64
	for _, e := range all {
		if handled[e.ID] == 0 {
			lost = append(lost, e.ID)
		}
	}
	assert.Empty(t, lost, "events never handled")
	assert.Contains(t, after, blocked, "the event the dead process was handling is handled again")
	// Per user, the new process handled the events in order.
	byUser := map[string][]int64{}
	ids := map[int64]string{}
	for _, e := range all {
		ids[e.ID] = e.UserID
	}
	for _, id := range after {
		byUser[ids[id]] = append(byUser[ids[id]], id)
	}
	for u, seq := range byUser {
		assert.True(t, slices.IsSorted(seq), "user %s: %v", u, seq)
	}
	t.Logf("%s: %d events committed; the killed process handled %d, was killed handling event %d; the new one handled %d; lost %d",
		kind, len(all), len(before), blocked, len(after), len(lost))
}

// Three instances on one PostgreSQL or MariaDB database deliver together:
// each event reaches the handler once, and each user's in order.
func TestEventsOnceAcrossInstances(t *testing.T) {
	for _, kind := range []string{"pg", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			var dsn string
			if kind == "pg" {
				dsn = postgresSchemaDSN(t)
			} else {
				_, _, name := mysqlDatabase(t)
				cfg, err := mysql.ParseDSN(os.Getenv("USERS_TEST_MYSQL_DSN"))
				require.NoError(t, err)
				cfg.DBName = name
				dsn = cfg.FormatDSN()
			}
			ctx := context.Background()
			var (
				mu   sync.Mutex
				seen = map[int64]int{}
				seq  = map[string][]int64{}
			)
			handler := func(_ context.Context, e users.Event) error {
				mu.Lock()
				defer mu.Unlock()
				seen[e.ID]++
				seq[e.UserID] = append(seq[e.UserID], e.ID)
				return nil
			}
			ms := make([]*users.Manager, 3)
			for i := range ms {
				s, closeStore, err := openKillStore(ctx, kind, dsn)
				require.NoError(t, err)
				defer closeStore()
				ms[i], err = users.New(s, memmailer.New(), users.WithHasher(userstest.Hasher{}),
					users.Hooks{Handlers: map[string]func(context.Context, users.Event) error{"app": handler}},
					users.Delivery{BatchSize: 4, Concurrency: 2})
				require.NoError(t, err)
			}
			const n = 20
			for i := range n {
				u, err := ms[i%3].CreateUser(ctx, users.CreateUserInput{Email: fmt.Sprintf("u%d@example.com", i)})
				require.NoError(t, err)
				name := "N"
				_, err = ms[(i+1)%3].UpdateUser(ctx, u.ID, users.UserPatch{FirstName: &name})
				require.NoError(t, err)
			}
			var wg sync.WaitGroup
			for _, m := range ms {
				wg.Go(func() {
					for range 50 {
						if _, err := m.DeliverEvents(ctx); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						done := len(seen) == 2*n
						mu.Unlock()
						if done {
							return
						}
					}
				})
			}
			wg.Wait()
			require.Len(t, seen, 2*n, "every event delivered")
			for id, c := range seen {
				assert.Equal(t, 1, c, "event %d delivered %d times", id, c)
			}
			for u, ids := range seq {
				assert.True(t, slices.IsSorted(ids), "user %s: %v", u, ids)
			}
		})
	}
}
