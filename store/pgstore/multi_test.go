package pgstore_test

// Multi-instance tests: several pools on one schema stand in for several
// instances of a host app sharing one database.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store/pgstore"
)

// instances returns n Stores on one fresh schema, each on a pool of its own.
func instances(t *testing.T, n int, params map[string]string) []*pgstore.Store {
	t.Helper()
	schema := newSchema(t)
	stores := make([]*pgstore.Store, n)
	for i := range stores {
		pool := newPoolWith(t, schema, params)
		s, err := pgstore.New(context.Background(), pool)
		require.NoError(t, err)
		stores[i] = s
	}
	return stores
}

// start runs f(i) for i in [0, n) on n goroutines released at once, and
// waits for them.
func start(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			f(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

// Ten instances starting at once on an empty schema: all succeed, the
// schema is migrated once.
func TestMultiMigrateOnce(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	const n = 10
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pools[i] = newPool(t, schema)
		require.NoError(t, pools[i].Ping(context.Background())) // connect before the race
	}
	errs := make([]error, n)
	began := time.Now()
	start(n, func(i int) {
		_, errs[i] = pgstore.New(context.Background(), pools[i])
	})
	t.Logf("10 concurrent New: %v", time.Since(began))
	for i, err := range errs {
		require.NoError(t, err, "instance %d", i)
	}
	var count, versions int
	require.NoError(t, pools[0].QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT version) FROM users_schema_migrations`).Scan(&count, &versions))
	assert.Equal(t, versions, count, "each version recorded once")
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	assert.Equal(t, len(files), count, "every migration applied")
	// Every instance works on the one schema.
	for i, p := range pools {
		s, err := pgstore.New(context.Background(), p)
		require.NoError(t, err)
		require.NoError(t, s.CreateRole(context.Background(), &users.Role{ID: fmt.Sprint(i), Name: "r"}))
	}
}

// 100 registrations of one address, in mixed case, across 4 instances:
// one user, 99 ErrDuplicateEmail, and only the winner's token and mail.
func TestMultiDuplicateEmail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := instances(t, 4, nil)
	const n = 100
	errs := make([]error, n)
	began := time.Now()
	start(n, func(i int) {
		email := mixedCase("someone@example.com", i)
		u := user(fmt.Sprint("u", i), email)
		u.EmailKey = strings.ToLower(email)
		u.Status = users.StatusUnverified
		fx := users.Effects{
			Token: &users.TokenRecord{Hash: hashOf(u.ID), Purpose: users.PurposeVerifyEmail, UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			Mail:  mail("m"+u.ID, u.ID, email, t0),
		}
		errs[i] = stores[i%len(stores)].CreateUser(ctx, u, fx)
	})
	t.Logf("100 concurrent CreateUser of one email on 4 pools: %v", time.Since(began))
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		assert.ErrorIs(t, err, users.ErrDuplicateEmail)
	}
	assert.Equal(t, 1, ok, "exactly one registration wins")
	list, err := stores[1].ListUsers(ctx, users.UserQuery{})
	require.NoError(t, err)
	assert.Len(t, list, 1)
	ms, err := stores[2].ListMail(ctx, users.MailQuery{})
	require.NoError(t, err)
	require.Len(t, ms, 1, "the losers' mails were not written")
	assert.Equal(t, list[0].ID, ms[0].UserID)
}

func mixedCase(s string, seed int) string {
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' && r.IntN(2) == 0 {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// A token consumed at once on every instance succeeds once.
func TestMultiConsumeTokenOnce(t *testing.T) {
	t.Parallel()
	testConsumeOnce(t, instances(t, 4, nil))
}

// The same with serializable transactions, where a consumer that waited
// for the winner fails with a serialization error: the store retries it,
// and it then sees the token used.
func TestMultiConsumeTokenOnceSerializable(t *testing.T) {
	t.Parallel()
	testConsumeOnce(t, instances(t, 4, map[string]string{"default_transaction_isolation": "serializable"}))
}

func testConsumeOnce(t *testing.T, stores []*pgstore.Store) {
	ctx := context.Background()
	const rounds, consumers = 10, 12
	var elapsed time.Duration
	for r := range rounds {
		id := fmt.Sprint("u", r)
		u := user(id, id+"@example.com")
		u.Status = users.StatusUnverified
		tok := &users.TokenRecord{Hash: hashOf(id), Purpose: users.PurposeVerifyEmail, UserID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		require.NoError(t, stores[0].CreateUser(ctx, u, users.Effects{Token: tok}))

		errs := make([]error, consumers)
		began := time.Now()
		start(consumers, func(i int) {
			_, errs[i] = stores[i%len(stores)].ConsumeToken(ctx, hashOf(id), users.PurposeVerifyEmail, t0,
				users.Condition{Status: users.StatusUnverified},
				users.UserChange{Status: ptr(users.StatusActive), UpdatedAt: t0.Add(time.Second)},
				users.Effects{Mail: mail(fmt.Sprint("m", r, "-", i), id, u.Email, t0)})
		})
		elapsed += time.Since(began)
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			assert.ErrorIs(t, err, users.ErrTokenUsed)
		}
		assert.Equal(t, 1, ok, "round %d: exactly one consumer wins", r)
		ms, err := stores[1].ListMail(ctx, users.MailQuery{To: u.Email})
		require.NoError(t, err)
		assert.Len(t, ms, 1, "round %d: only the winner's effects are written", r)
	}
	t.Logf("%d rounds of %d concurrent ConsumeToken on %d pools: %v", rounds, consumers, len(stores), elapsed)
}

// A precondition is checked against the row as the last writer left it:
// of 20 concurrent "invited → active" changes, one applies.
func TestMultiConditionalUpdateOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := instances(t, 4, nil)
	u := user("u1", "a@example.com")
	u.Status = users.StatusInvited
	require.NoError(t, stores[0].CreateUser(ctx, u, users.Effects{}))
	const n = 20
	errs := make([]error, n)
	start(n, func(i int) {
		_, errs[i] = stores[i%len(stores)].UpdateUser(ctx, "u1", users.Condition{Status: users.StatusInvited},
			users.UserChange{Status: ptr(users.StatusActive), FirstName: ptr(fmt.Sprint(i)), UpdatedAt: t0},
			users.Effects{Mail: mail(fmt.Sprint("m", i), "u1", u.Email, t0)})
	})
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		assert.ErrorIs(t, err, users.ErrConflict)
	}
	assert.Equal(t, 1, ok)
	ms, err := stores[3].ListMail(ctx, users.MailQuery{})
	require.NoError(t, err)
	assert.Len(t, ms, 1)
}

// Consuming a user's token while another instance re-issues it can
// deadlock inside PostgreSQL (the two lock the token and the user in
// opposite orders); the store retries, so callers only ever see one of the
// two orders: consumed then re-issued, or revoked then not found.
func TestMultiConsumeVersusReissue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := instances(t, 2, nil)
	const rounds = 30
	consumed, revoked := 0, 0
	for r := range rounds {
		id := fmt.Sprint("u", r)
		u := user(id, id+"@example.com")
		u.Status = users.StatusUnverified
		old := &users.TokenRecord{Hash: hashOf(id + "old"), Purpose: users.PurposeVerifyEmail, UserID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		require.NoError(t, stores[0].CreateUser(ctx, u, users.Effects{Token: old}))
		var consumeErr, reissueErr error
		start(2, func(i int) {
			if i == 0 {
				_, consumeErr = stores[0].ConsumeToken(ctx, old.Hash, users.PurposeVerifyEmail, t0, users.Condition{},
					users.UserChange{Status: ptr(users.StatusActive), UpdatedAt: t0}, users.Effects{})
				return
			}
			fresh := &users.TokenRecord{Hash: hashOf(id + "new"), Purpose: users.PurposeVerifyEmail, UserID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			_, reissueErr = stores[1].UpdateUser(ctx, id, users.Condition{}, users.UserChange{UpdatedAt: t0}, users.Effects{Token: fresh})
		})
		require.NoError(t, reissueErr)
		switch {
		case consumeErr == nil:
			consumed++
		case errors.Is(consumeErr, users.ErrInvalidToken) && !errors.Is(consumeErr, users.ErrTokenUsed):
			revoked++
		default:
			t.Fatalf("round %d: consume: %v", r, consumeErr)
		}
	}
	t.Logf("consumed first %d times, revoked first %d times", consumed, revoked)
}

// Two workers on two instances claim batches and mark them sent: each of
// 200 mails is claimed exactly once.
func TestMultiMailWorkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := instances(t, 2, nil)
	const mails = 200
	for i := range mails {
		id := fmt.Sprintf("u%03d", i)
		// Creation times repeat, so the order also depends on the id.
		require.NoError(t, stores[i%2].CreateUser(ctx, user(id, id+"@example.com"),
			users.Effects{Mail: mail("m"+id, id, id+"@example.com", t0.Add(time.Duration(i%7)*time.Second))}))
	}
	now := t0.Add(time.Minute)
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		perWkr  [2]int
		total   atomic.Int64
	)
	began := time.Now()
	start(2, func(w int) {
		s := stores[w]
		for total.Load() < mails {
			batch, err := s.ClaimMail(ctx, now, now.Add(time.Minute), 5)
			if !assert.NoError(t, err) {
				return
			}
			for i := 1; i < len(batch); i++ {
				a, b := batch[i-1], batch[i]
				assert.True(t, a.CreatedAt.Before(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID, "batch order")
			}
			for _, m := range batch {
				mu.Lock()
				claimed[m.ID]++
				perWkr[w]++
				mu.Unlock()
				sent := now
				if !assert.NoError(t, s.UpdateMail(ctx, m.ID, users.MailUpdate{Status: users.MailSent, Attempts: 1, NextAttemptAt: now, SentAt: &sent, ClearBody: true})) {
					return
				}
				total.Add(1)
			}
		}
	})
	t.Logf("2 workers delivered %d mails in %v (%d + %d)", mails, time.Since(began), perWkr[0], perWkr[1])
	assert.Len(t, claimed, mails)
	for id, n := range claimed {
		assert.Equal(t, 1, n, "mail %s claimed %d times", id, n)
	}
	pending, err := stores[0].ListMail(ctx, users.MailQuery{Status: users.MailPending})
	require.NoError(t, err)
	assert.Empty(t, pending)
	sent, err := stores[1].ListMail(ctx, users.MailQuery{Status: users.MailSent})
	require.NoError(t, err)
	assert.Len(t, sent, mails)
}

// A worker that claimed mails and died: another instance cannot claim them
// while the lease runs, and can once it has ended.
func TestMultiMailLeaseExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := instances(t, 2, nil)
	for i := range 3 {
		id := fmt.Sprint("u", i)
		require.NoError(t, stores[0].CreateUser(ctx, user(id, id+"@example.com"),
			users.Effects{Mail: mail("m"+id, id, id+"@example.com", t0)}))
	}
	leaseEnd := t0.Add(time.Minute)
	dead, err := stores[0].ClaimMail(ctx, t0, leaseEnd, 2)
	require.NoError(t, err)
	require.Len(t, dead, 2)

	got, err := stores[1].ClaimMail(ctx, t0.Add(30*time.Second), t0.Add(90*time.Second), 10)
	require.NoError(t, err)
	require.Len(t, got, 1, "only the unclaimed mail")
	assert.Equal(t, "mu2", got[0].ID)

	got, err = stores[1].ClaimMail(ctx, leaseEnd, leaseEnd.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, got, 2, "the dead worker's mails, once its lease ended")
	assert.Equal(t, dead[0].ID, got[0].ID)
	assert.Equal(t, dead[1].ID, got[1].ID)
	assert.True(t, got[0].LeaseUntil.Equal(leaseEnd.Add(time.Minute)))
}

// Settings saved on one instance are what the others read next.
func TestMultiSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := instances(t, 3, nil)
	for i, doc := range []string{`{"public_registration":true}`, `{"public_registration":false}`} {
		require.NoError(t, stores[i].SaveSettings(ctx, []byte(doc)))
		for j, s := range stores {
			got, err := s.Settings(ctx)
			require.NoError(t, err)
			assert.Equal(t, doc, string(got), "instance %d", j)
		}
	}
}
