package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/store/storetest"
)

// frameSize is a log frame of a 4 KiB page: its header and the page.
const frameSize = 24 + 4096

// createUsers creates n users, one write each.
func createUsers(t *testing.T, s interface {
	CreateUser(context.Context, *store.User, store.Effects) error
}, prefix string, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s%04d", prefix, i)
		require.NoError(t, s.CreateUser(t.Context(), groupUser(id, id+"@example.com"), store.Effects{}))
	}
}

// emptyLog checkpoints the whole log (the migrations' pages) into the
// database and truncates it, from a handle of its own.
func emptyLog(t *testing.T, path string) {
	t.Helper()
	var busy, logged, copied int
	require.NoError(t, openApp(t, sqlitestore.DSN(path)).QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &copied))
	require.Zero(t, busy)
	require.Zero(t, logSize(t, path))
}

// logFrames counts the frames of the log's current generation: those
// whose salt is the log header's.
func logFrames(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path + "-wal")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(b), 32)
	be := binary.BigEndian
	n := 0
	for off := 32; off+frameSize <= len(b); off += frameSize {
		if be.Uint64(b[off+8:]) != be.Uint64(b[16:]) {
			break
		}
		n++
	}
	return n
}

func logSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	require.NoError(t, err)
	return fi.Size()
}

// Writers never checkpoint: left to SQLite, the commit that takes the log
// past 1,000 pages would copy them into the database (with two fsyncs)
// while its writer holds the write lock, and the next writer would start
// the log again, so the log's file would stop growing at about 1,000
// pages. With the Store's checkpointer stopped, it grows on.
func TestWritersLeaveCheckpointsToTheCheckpointer(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	s.Checkpoints(0, 0)
	emptyLog(t, path)
	createUsers(t, s, "w", 300)
	assert.Greater(t, logSize(t, path), int64(2000*frameSize), "the writers checkpointed the log themselves")
}

// A round of the checkpointer copies the log into the database and, past
// its threshold, has the log started again: the next write is the log's
// first frames, and the file does not grow.
func TestCheckpointerStartsTheLogAgain(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	stats := s.Checkpoints(time.Hour, 100)
	emptyLog(t, path)
	createUsers(t, s, "b", 300)
	before := logFrames(t, path)
	require.Greater(t, before, 1000)
	size := logSize(t, path)
	s.CheckpointNow()
	passes, resets := stats()
	assert.Equal(t, 1, passes)
	assert.Equal(t, 1, resets)
	createUsers(t, s, "c", 1)
	assert.Less(t, logFrames(t, path), 100, "the log was not started again")
	assert.Equal(t, size, logSize(t, path))
	n, err := s.CountUsers(t.Context(), store.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 301, n)
}

// A reader still reading the log as it was stops a PASSIVE checkpoint
// short of the log's end, and then no writer can start the log again. Past
// its threshold the checkpointer's round waits for that reader (with the
// write lock held, so that nothing is appended meanwhile), copies the rest
// and starts the log again.
func TestCheckpointerWaitsForReadersToStartTheLogAgain(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	stats := s.Checkpoints(time.Hour, 100)
	emptyLog(t, path)
	createUsers(t, s, "a", 300)
	reader := openApp(t, "file:"+path+"?_busy_timeout=5000")
	tx, err := reader.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	var n int
	require.NoError(t, tx.QueryRow("SELECT count(*) FROM users_users").Scan(&n))
	require.Equal(t, 300, n)
	createUsers(t, s, "b", 10)
	released := make(chan struct{})
	time.AfterFunc(200*time.Millisecond, func() { _ = tx.Rollback(); close(released) })
	s.CheckpointNow()
	select {
	case <-released:
	default:
		t.Fatal("the round ended before the reader did: it did not wait for it")
	}
	_, resets := stats()
	assert.Equal(t, 1, resets)
	createUsers(t, s, "c", 1)
	assert.Less(t, logFrames(t, path), 100, "the log was not started again")
}

// Below its threshold, a round copies the log without the write lock and
// runs no RESTART. (With no write meanwhile, it copies all of it, and the
// next writer starts the log again by itself.)
func TestCheckpointerKeepsAShortLog(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	stats := s.Checkpoints(time.Hour, 100_000)
	emptyLog(t, path)
	createUsers(t, s, "k", 20)
	s.CheckpointNow()
	passes, resets := stats()
	assert.Equal(t, 1, passes)
	assert.Zero(t, resets)
	createUsers(t, s, "l", 1)
	n, err := s.CountUsers(t.Context(), store.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 21, n)
}

// Readers and writers go on while the checkpointer restarts the log again
// and again: no read fails or sees a user half-written, no write fails.
func TestCheckpointRestartsBesideReadersAndWriters(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	stats := s.Checkpoints(0, 16)
	ctx := t.Context()
	createUsers(t, s, "r", 20)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	readErrs := make(chan error, 4)
	for i := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("r%04d", (i+n)%20)
				u, err := s.GetUser(ctx, id)
				if err == nil && u.Email != id+"@example.com" {
					err = fmt.Errorf("user %s read with email %q", id, u.Email)
				}
				if err != nil {
					readErrs <- err
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	for i := range 4 {
		writers.Go(func() { createUsers(t, s, fmt.Sprintf("w%d-", i), 50) })
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	close(readErrs)
	for err := range readErrs {
		require.NoError(t, err)
	}
	_, resets := stats()
	assert.Positive(t, resets, "the log was never started again")
	n, err := s.CountUsers(ctx, store.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 220, n)
}

// The whole contract holds with a checkpoint a millisecond after commits
// and the log started again every 64 pages.
func TestConformanceCheckpointing(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		st := conformanceStore(false)(t)
		st.(dropping).Checkpoints(time.Millisecond, 64)
		return st
	})
}
