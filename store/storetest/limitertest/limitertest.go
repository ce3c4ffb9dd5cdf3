// Package limitertest checks a users.Limiter whose counts live in
// a database shared by several instances of an application (pgstore's and
// mysqlstore's Limiter): that it answers exactly as users.MemoryLimiter
// does — allowed or not, and the same RetryAfter to the nanosecond — that
// instances racing on one key allow exactly the limit between them, that
// Reset and limiter names keep counts apart, that expired rows are swept,
// that an ended context is never a denial, and that the key is in no
// error.
//
// A back-end's test calls [Run] with a function that creates a fresh,
// empty database for the test (see [Database]). Sub-tests run in parallel,
// each on a database of its own. Like storetest, the package uses only the
// standard library's testing package.
package limitertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
	"github.com/gousers/users/userstest"
)

// Database is one fresh database the sub-test's limiters share.
type Database struct {
	// NewLimiter returns a Limiter named name allowing points events per
	// window, on a handle of its own on the database (as one instance of
	// an app has), closed when t ends. clock, when not nil, is its clock
	// (the back-end's WithLimiterClock).
	NewLimiter func(t *testing.T, name string, points int, window time.Duration, clock func() time.Time) users.Limiter

	// Rows reports how many rows the back-end's events table holds and how
	// many events they record.
	Rows func(t *testing.T) (rows, events int)

	// Block takes, on a connection of its own, a lock that makes every
	// Allow and Reset on the database wait until release is called.
	Block func(t *testing.T) (release func())

	// Break makes every later call of the database's limiters fail (it
	// drops their table).
	Break func(t *testing.T)

	// NewStore returns a store.Store on the database, on a handle of its
	// own, for a Manager whose login limiter the Limiter is.
	NewStore func(t *testing.T) store.Store
}

// Factory creates a fresh, empty database for t, dropped when t ends.
type Factory func(t *testing.T) Database

// Test is one sub-test of Run.
type Test struct {
	Name string
	Run  func(t *testing.T, newDatabase Factory)
}

// Tests returns Run's sub-tests, for a back-end that runs some of them
// again under other settings (another default isolation level, say). The
// longest come first (Cleanup makes over a thousand calls, one after
// another), so that Run, which starts them in this order, does not leave
// one of them running alone at the end.
func Tests() []Test {
	return []Test{
		{"Cleanup", Cleanup},
		{"MatchesMemoryLimiter", MatchesMemoryLimiter},
		{"ConcurrentInstances", ConcurrentInstances},
		{"AsLoginLimiter", AsLoginLimiter},
		{"CountsOnlyItsWindow", CountsOnlyItsWindow},
		{"Reset", Reset},
		{"NameIsolation", NameIsolation},
		{"ContextCancelled", ContextCancelled},
		{"KeyNotInErrors", KeyNotInErrors},
	}
}

// Run runs every sub-test, in parallel.
func Run(t *testing.T, newDatabase Factory) {
	for _, tc := range Tests() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			tc.Run(t, newDatabase)
		})
	}
}

// newClock returns the sub-tests' fake clock, at a fixed instant with
// nanoseconds.
func newClock() *testenv.Clock {
	return testenv.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC))
}

func allow(t *testing.T, l users.Limiter, key, what string) {
	t.Helper()
	if _, err := l.Allow(t.Context(), key); err != nil {
		t.Fatalf("%s: Allow(%q): %v; want allowed", what, key, err)
	}
}

func deny(t *testing.T, l users.Limiter, key, what string) time.Duration {
	t.Helper()
	d, err := l.Allow(t.Context(), key)
	if !errors.Is(err, users.ErrRateLimited) {
		t.Fatalf("%s: Allow(%q): %v; want a denial", what, key, err)
	}
	return d
}

type step struct {
	advance time.Duration
	key     string
}

// MatchesMemoryLimiter: the same answers as users.MemoryLimiter on the
// same sequences of events at the same times.
func MatchesMemoryLimiter(t *testing.T, newDatabase Factory) {
	steps := func(advance time.Duration, keys ...string) []step {
		var s []step
		for i, k := range keys {
			s = append(s, step{advance: advance * time.Duration(min(i, 1)), key: k})
		}
		return s
	}
	concat := func(parts ...[]step) []step {
		var s []step
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	// A long pseudo-random sequence on three keys, with nanosecond jitter
	// and repeated instants.
	var random []step
	seed := uint32(7)
	for range 300 {
		seed = seed*1664525 + 1013904223
		random = append(random, step{
			advance: time.Duration(seed>>8%40)*time.Second/4 + time.Duration(seed>>4%3),
			key:     fmt.Sprintf("user%d@example.com", seed>>28%3),
		})
	}
	cases := []struct {
		name   string
		points int
		window time.Duration
		steps  []step
	}{
		{"SlidingWindow", 3, time.Hour, concat(
			steps(10*time.Minute, "k", "k", "k", "k"), // 0, 10, 20 allowed; 30 denied
			[]step{
				{30*time.Minute - time.Nanosecond, "k"}, // denied, 1ns to go
				{time.Nanosecond, "k"},                  // 60 min: the 0-min event left
				{0, "k"},                                // 10, 20, 60 fill the window
				{0, "other"},
			})},
		{"SameInstant", 3, time.Minute, concat(
			steps(0, "k", "k", "k", "k", "k"),
			[]step{{time.Minute - 1, "k"}, {1, "k"}, {0, "k"}, {0, "k"}, {0, "k"}},
		)},
		{"ExactlyOneWindowLater", 2, time.Second, []step{
			{0, "k"}, {time.Second / 2, "k"}, {time.Second / 2, "k"}, {0, "k"}, {time.Second / 2, "k"}, {0, "k"},
		}},
		{"OnePoint", 1, time.Minute, steps(20*time.Second, "a", "b", "a", "b", "a", "b", "a", "b")},
		{"Random", 4, time.Minute, random},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			c := newClock()
			mem := &users.MemoryLimiter{Points: tc.points, Window: tc.window, Now: c.Now}
			db := newDatabase(t).NewLimiter(t, "test", tc.points, tc.window, c.Now)
			denied := 0
			for i, s := range tc.steps {
				c.Advance(s.advance)
				wantD, wantErr := mem.Allow(ctx, s.key)
				gotD, gotErr := db.Allow(ctx, s.key)
				if gotD != wantD {
					t.Fatalf("step %d: RetryAfter %v; MemoryLimiter says %v", i, gotD, wantD)
				}
				if wantErr == nil {
					if gotErr != nil {
						t.Fatalf("step %d: %v; MemoryLimiter allows", i, gotErr)
					}
					continue
				}
				denied++
				var want, got *users.RateLimitError
				if !errors.As(wantErr, &want) || !errors.As(gotErr, &got) || !errors.Is(gotErr, users.ErrRateLimited) {
					t.Fatalf("step %d: %v; MemoryLimiter denies with %v", i, gotErr, wantErr)
				}
				if *got != *want {
					t.Fatalf("step %d: %+v; MemoryLimiter denies with %+v", i, *got, *want)
				}
			}
			if denied == 0 {
				t.Error("the sequence exercises no denial")
			}
		})
	}
}

// CountsOnlyItsWindow: an event counts for exactly one window of the
// limiter that asks, even while its row is still stored: rows written
// under a longer window (by a deployment before the window was shortened)
// are not yet expired for the sweep, and the count itself must leave out
// those older than the window.
func CountsOnlyItsWindow(t *testing.T, newDatabase Factory) {
	db := newDatabase(t)
	c := newClock()
	before := db.NewLimiter(t, "login", 2, time.Hour, c.Now)
	after := db.NewLimiter(t, "login", 2, time.Minute, c.Now)
	allow(t, before, "k", "first")
	allow(t, before, "k", "second")
	c.Advance(time.Minute - 1)
	if d := deny(t, after, "k", "1ns before a minute"); d != 1 {
		t.Errorf("RetryAfter %v; want 1ns", d)
	}
	c.Advance(1) // exactly one minute: both events have left the window
	allow(t, after, "k", "a minute later")
	rows, events := db.Rows(t)
	if rows != 2 || events != 3 {
		t.Errorf("%d rows, %d events; want 2 and 3 (the old row is still stored, and was not counted)", rows, events)
	}
}

// ConcurrentInstances: four instances, 50 goroutines each, all on one key
// with points=10: exactly 10 are allowed, every other call is a denial
// with a RetryAfter within the window, and 10 events are stored.
func ConcurrentInstances(t *testing.T, newDatabase Factory) {
	db := newDatabase(t)
	const instances, goroutines, points = 4, 50, 10
	ls := make([]users.Limiter, instances)
	for i := range ls {
		ls[i] = db.NewLimiter(t, "login", points, time.Hour, nil)
	}
	var allowed, denied atomic.Int64
	errs := make([]error, instances*goroutines)
	testkit.Start(instances*goroutines, func(i int) {
		d, err := ls[i%instances].Allow(t.Context(), "victim@example.com")
		var rl *users.RateLimitError
		switch {
		case err == nil:
			allowed.Add(1)
		case errors.As(err, &rl) && d > 0 && d <= time.Hour && rl.RetryAfter == d:
			denied.Add(1)
		default:
			errs[i] = fmt.Errorf("%v (RetryAfter %v)", err, d)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if allowed.Load() != points || denied.Load() != instances*goroutines-points {
		t.Errorf("%d allowed, %d denied; want %d and %d", allowed.Load(), denied.Load(), points, instances*goroutines-points)
	}
	if _, events := db.Rows(t); events != points {
		t.Errorf("%d events stored; want %d (denials record nothing)", events, points)
	}
}

// Reset forgets a key's events for every instance, and only that key's.
func Reset(t *testing.T, newDatabase Factory) {
	db := newDatabase(t)
	a := db.NewLimiter(t, "login", 2, time.Hour, nil)
	b := db.NewLimiter(t, "login", 2, time.Hour, nil) // another instance
	for _, k := range []string{"k", "k", "other", "other"} {
		allow(t, a, k, "filling")
	}
	deny(t, b, "k", "the other instance, full")
	if err := b.Reset(t.Context(), "k"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	allow(t, a, "k", "after the reset, first")
	allow(t, a, "k", "after the reset, second")
	deny(t, a, "k", "after the reset, third")
	deny(t, a, "other", "another key keeps its count")
	if err := a.Reset(t.Context(), "never seen"); err != nil {
		t.Errorf("Reset of an unknown key: %v", err)
	}
}

// NameIsolation: limiters with different names count apart in one table,
// even for the same key, with their own points and windows; Reset of one
// leaves the other alone; a second limiter under an existing name counts
// the same events.
func NameIsolation(t *testing.T, newDatabase Factory) {
	db := newDatabase(t)
	c := newClock()
	// Names of one length, so that only their bytes tell them apart.
	login := db.NewLimiter(t, "login", 1, time.Hour, c.Now)
	mail := db.NewLimiter(t, "email", 2, time.Minute, c.Now)
	const key = "someone@example.com"
	allow(t, login, key, "login")
	deny(t, login, key, "login, full")
	allow(t, mail, key, "login's event does not count for mail")
	allow(t, mail, key, "mail, second")
	if d := deny(t, mail, key, "mail, full"); d != time.Minute {
		t.Errorf("mail's RetryAfter %v; want its own window, 1m", d)
	}
	if err := mail.Reset(t.Context(), key); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	allow(t, mail, key, "mail after its reset")
	deny(t, login, key, "mail's Reset leaves login's count")
	login2 := db.NewLimiter(t, "login", 1, time.Hour, c.Now)
	deny(t, login2, key, "a second limiter named login")
}

// ContextCancelled: a context that has ended is reported as such — never
// as a denial — and records nothing; so is a deadline that passes while
// the limiter waits for a lock. The limiter works again afterwards.
func ContextCancelled(t *testing.T, newDatabase Factory) {
	db := newDatabase(t)
	l := db.NewLimiter(t, "login", 5, time.Hour, nil)
	const key = "someone@example.com"

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d, err := l.Allow(ctx, key)
	if !errors.Is(err, context.Canceled) || errors.Is(err, users.ErrRateLimited) || d != 0 {
		t.Errorf("Allow with a cancelled context: %v, %v; want context.Canceled, no denial", d, err)
	}
	if err := l.Reset(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Reset with a cancelled context: %v; want context.Canceled", err)
	}

	release := db.Block(t)
	dctx, dcancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer dcancel()
	_, err = l.Allow(dctx, key)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, users.ErrRateLimited) {
		t.Errorf("Allow while blocked past its deadline: %v; want context.DeadlineExceeded, no denial", err)
	}
	release()

	if rows, _ := db.Rows(t); rows != 0 {
		t.Errorf("%d rows; want none recorded", rows)
	}
	for i := range 5 {
		allow(t, l, key, fmt.Sprint("afterwards, call ", i))
	}
	deny(t, l, key, "all five slots were still free")
}

// KeyNotInErrors: the key is in no error — denial, cancellation, back-end
// failure — and a failing back-end is not a denial.
func KeyNotInErrors(t *testing.T, newDatabase Factory) {
	db := newDatabase(t)
	l := db.NewLimiter(t, "login", 1, time.Hour, nil)
	const key = "Secret.Person+tag@Example.com"
	ctx := t.Context()
	allow(t, l, key, "first")

	var errs []error
	_, err := l.Allow(ctx, key)
	if !errors.Is(err, users.ErrRateLimited) {
		t.Fatalf("second Allow: %v; want a denial", err)
	}
	errs = append(errs, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = l.Allow(cctx, key)
	errs = append(errs, err, l.Reset(cctx, key))

	db.Break(t)
	_, err = l.Allow(ctx, key)
	if errors.Is(err, users.ErrRateLimited) {
		t.Errorf("Allow on a broken back-end: %v; a failure is not a denial", err)
	}
	errs = append(errs, err, l.Reset(ctx, key))

	for i, err := range errs {
		if err == nil {
			t.Errorf("error %d: nil; want an error", i)
			continue
		}
		for _, k := range []string{key, strings.ToLower(key), "Secret.Person", "Example.com"} {
			if strings.Contains(err.Error(), k) {
				t.Errorf("error %d names the key: %v", i, err)
			}
		}
	}
}

// Cleanup: expired events of other keys and other limiters are deleted as
// limiters are used, each row by its own window, so the table holds about
// the events still in a window however many keys come and go.
func Cleanup(t *testing.T, newDatabase Factory) {
	db := newDatabase(t)
	c := newClock()
	short := db.NewLimiter(t, "short", 1, time.Minute, c.Now)
	long := db.NewLimiter(t, "long", 1, time.Hour, c.Now)
	for i := range 95 {
		allow(t, short, fmt.Sprintf("ip-%d", i), "short")
	}
	for i := range 5 {
		allow(t, long, fmt.Sprintf("ip-%d", i), "long")
	}
	if rows, _ := db.Rows(t); rows != 100 {
		t.Fatalf("%d rows; want 100", rows)
	}

	// Two minutes later the short limiter's events have expired; each
	// call of either limiter deletes up to ten of them.
	c.Advance(2 * time.Minute)
	for i := range 10 {
		if i == 0 {
			allow(t, long, "live", "live")
		} else {
			deny(t, long, "live", "live")
		}
		if rows, _ := db.Rows(t); rows != max(95-10*(i+1), 0)+5+1 {
			t.Errorf("after call %d: %d rows; want %d", i, rows, max(95-10*(i+1), 0)+5+1)
		}
	}
	// The long limiter's events were not swept: they still count.
	for i := range 5 {
		deny(t, long, fmt.Sprintf("ip-%d", i), "an unexpired event")
	}

	// A flood of new keys over time: the table stays near the number of
	// events in a window: the long limiter's 6 and the short one's 10 (one
	// event every 6 s, window 1 min), give or take the one on the edge.
	for i := range 1000 {
		c.Advance(6 * time.Second)
		allow(t, short, fmt.Sprintf("flood-%d", i), "flood")
		if i%50 == 49 {
			if rows, _ := db.Rows(t); rows > 6+11 {
				t.Fatalf("after %d keys: %d rows; want at most %d", i+1, rows, 6+11)
			}
		}
	}
}

// AsLoginLimiter: the Limiter plugs into a Manager as its login limiter:
// failed logins on two instances count together, a successful login
// resets the address, and over the limit even the right password is
// refused without a check.
func AsLoginLimiter(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	db := newDatabase(t)
	ms := make([]*users.Manager, 2)
	for i := range ms {
		lim := users.DefaultLimits()
		lim.Login = db.NewLimiter(t, "login", 3, 15*time.Minute, nil)
		m, err := users.New(db.NewStore(t), memmailer.New(), users.WithHasher(userstest.Hasher{}), lim)
		if err != nil {
			t.Fatalf("users.New: %v", err)
		}
		ms[i] = m
	}
	if _, err := ms[0].CreateUser(ctx, users.CreateUserInput{Email: "Ann@example.com", Password: "right-password-1"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	login := func(i int, pw string) error {
		_, err := ms[i].Authenticate(ctx, "ann@EXAMPLE.com", pw)
		return err
	}
	for i := range 2 {
		if err := login(i, "wrong"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v; want ErrInvalidCredentials", i, err)
		}
	}
	if err := login(1, "right-password-1"); err != nil {
		t.Fatalf("the third attempt, with the right password: %v", err)
	}
	// The success reset the count: three more failures are checked.
	for i := range 3 {
		if err := login(i%2, "wrong"); !errors.Is(err, users.ErrInvalidCredentials) {
			t.Fatalf("failure %d after the reset: %v; want ErrInvalidCredentials", i, err)
		}
	}
	err := login(1, "right-password-1")
	var rl *users.RateLimitError
	if !errors.Is(err, users.ErrRateLimited) || !errors.As(err, &rl) || rl.Limit != 3 {
		t.Fatalf("instance 1 after instance 0's failures: %v; want a RateLimitError with Limit 3", err)
	}
	if strings.Contains(err.Error(), "ann@") {
		t.Errorf("the denial names the address: %v", err)
	}
}
