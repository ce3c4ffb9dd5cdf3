package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
)

// queueBehindLock starts each write in a goroutine while the write lock is
// held, waits until all of them are queued, then releases the lock, so
// that they run as one group. It returns their errors, in order.
func queueBehindLock(t *testing.T, s *sqlitestore.Store, writes ...func() error) []error {
	t.Helper()
	release := s.HoldWriteLock()
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w() })
		// One at a time, so that the queue's order is the writes' order.
		require.Eventually(t, func() bool { return s.Queued() == i+1 }, 5*time.Second, time.Millisecond)
	}
	release()
	wg.Wait()
	return errs
}

func groupUser(id, email string) *store.User {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &store.User{ID: id, Email: email, EmailKey: email, Status: "active", CreatedAt: now, UpdatedAt: now}
}

// Writes queued behind the lock commit in one transaction, and a write
// that fails in it leaves no trace and takes none of the others with it.
func TestGroupCommitKeepsEachWriteApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTemp(t)
	boom := errors.New("boom")
	errs := queueBehindLock(t, s,
		func() error { return s.CreateUser(ctx, groupUser("u1", "a@example.com"), store.Effects{}) },
		// Fails after its own write: the savepoint undoes the role.
		func() error {
			return s.WriteExec(ctx, boom, `INSERT INTO users_roles (id, name) VALUES ('r1', 'Role 1')`)
		},
		// The same address as the first write, which the group has made.
		func() error { return s.CreateUser(ctx, groupUser("u2", "a@example.com"), store.Effects{}) },
		func() error { return s.CreateUser(ctx, groupUser("u3", "b@example.com"), store.Effects{}) },
	)
	assert.Equal(t, 1, s.Groups(), "the four writes ran as one group")
	require.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], boom)
	assert.ErrorIs(t, errs[2], store.ErrDuplicateEmail, "a write sees the writes before it in the group")
	require.NoError(t, errs[3])

	for id, want := range map[string]bool{"u1": true, "u2": false, "u3": true} {
		_, err := s.GetUser(ctx, id)
		if want {
			assert.NoError(t, err, id)
		} else {
			assert.ErrorIs(t, err, store.ErrNotFound, id)
		}
	}
	_, err := s.GetRole(ctx, "r1")
	assert.ErrorIs(t, err, store.ErrNotFound, "the failed write's role was rolled back")
}

// When the transaction ends under a group (SQLite rolls it back whole on
// some errors), no write of the group is reported done: the ones that ran
// fail, and the ones that had not run yet run in the next transaction.
func TestGroupCommitLostTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTemp(t)
	boom := errors.New("boom")
	errs := queueBehindLock(t, s,
		func() error { return s.CreateUser(ctx, groupUser("u1", "a@example.com"), store.Effects{}) },
		// Ends the transaction behind the group's back, then fails.
		func() error { return s.WriteExec(ctx, boom, `ROLLBACK`) },
		func() error { return s.CreateUser(ctx, groupUser("u3", "b@example.com"), store.Effects{}) },
	)
	require.Error(t, errs[0], "the first write was undone with the transaction: it must not report success")
	assert.ErrorIs(t, errs[0], boom)
	_, err := s.GetUser(ctx, "u1")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, errs[1], boom)
	require.NoError(t, errs[2], "a write that had not run yet runs in the next transaction")
	_, err = s.GetUser(ctx, "u3")
	assert.NoError(t, err)
}

// A write whose context ends while it waits in the queue returns at once
// with the context's error, and is not run.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	release := s.HoldWriteLock()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- s.CreateUser(ctx, groupUser("u1", "a@example.com"), store.Effects{}) }()
	require.Eventually(t, func() bool { return s.Queued() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-res:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled write waited for the lock")
	}
	assert.Zero(t, s.Queued(), "the cancelled write left the queue")
	release()
	_, err := s.GetUser(context.Background(), "u1")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// Many writers at once: every write commits exactly once and none is lost,
// whatever groups they fall into.
func TestGroupCommitUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTemp(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("u%03d", i)
			errs[i] = s.CreateUser(ctx, groupUser(id, id+"@example.com"), store.Effects{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "write %d", i)
	}
	users, err := s.ListUsers(ctx, store.UserQuery{})
	require.NoError(t, err)
	assert.Len(t, users, n)
}
