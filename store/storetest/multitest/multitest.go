// Package multitest checks what a [store.Store] must do when several
// instances of an application share one database: the clause of the Store
// contract that says concurrent callers "in one process or in several
// processes sharing the back-end" see each operation whole.
//
// [storetest.Run] checks the contract on one Store; this suite opens
// several Stores on one database — each on a connection pool of its own,
// as separate processes would have — and races them: ten instances
// migrating an empty database at once, a hundred registrations of one
// address in mixed case over four instances, one token consumed at once on
// every instance, two delivery workers on one outbox, settings saved on
// one instance and read on the others, refresh-token rotation, session
// renewal and the last-administrator rule under concurrent callers, and
// the same flows through users.Manager.
//
// # Using it
//
// A back-end's test calls [Run] with a function that creates a fresh,
// empty database for the test and says how to connect to it:
//
//	func TestMulti(t *testing.T) {
//		multitest.Run(t, func(t *testing.T) multitest.Database {
//			dsn := createDatabase(t) // dropped by t.Cleanup
//			return multitest.Database{
//				Connect: func(t *testing.T) func(context.Context) (store.Store, error) {
//					db := openPool(t, dsn) // connected; closed by t.Cleanup
//					return func(ctx context.Context) (store.Store, error) { return mystore.New(ctx, db) }
//				},
//				Migrations: func(t *testing.T) (rows, versions int) { ... },
//				Want:       mystore.SchemaVersion(),
//			}
//		})
//	}
//
// Sub-tests run in parallel (t.Parallel), each on a database of its own;
// a back-end whose server limits connections should size its pools so
// that two or three sub-tests fit at once.
//
// Like storetest, the package uses only the standard library's testing
// package, so that a back-end written elsewhere can run it without
// pulling in an assertion library.
package multitest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
)

// Database is one fresh database that the suite's instances share.
type Database struct {
	// Connect opens a new handle on the database (a connection pool, as
	// one instance of an app has), connected before Connect returns and
	// closed when t ends, and returns the function that creates a Store on
	// it — the back-end's constructor, which migrates the schema.
	Connect func(t *testing.T) func(ctx context.Context) (store.Store, error)

	// Migrations reports what the back-end's table of applied migrations
	// holds: its number of rows and of distinct versions. Nil skips the
	// check that the schema was migrated exactly once (the instances are
	// still created at once).
	Migrations func(t *testing.T) (rows, versions int)

	// Want is the number of migrations a fresh database gets (the
	// back-end's latest schema version, when versions count from 1).
	Want int
}

// Factory creates a fresh, empty database for t, dropped when t ends.
type Factory func(t *testing.T) Database

// Run races several Stores on one database, through each sub-test's
// factory-made database: Store/MigrateOnce, Store/DuplicateEmail,
// Store/ConsumeTokenOnce, Store/ConditionalUpdateOnce,
// Store/ConsumeVersusReissue, Store/MailWorkers, Store/MailLeaseExpires,
// Store/Settings, Store/RotateSessionOnce, Store/RenewSessionOnce,
// Store/KeepAdmin, and
// Manager/SettingsShared, Manager/RegistrationOneUser,
// Manager/WorkersSendEachMailOnce.
func Run(t *testing.T, newDatabase Factory) {
	for _, tc := range Tests() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			tc.Run(t, newDatabase)
		})
	}
}

// Test is one sub-test of Run, for a back-end that runs some of them again
// under other settings (a stricter isolation level, say).
type Test struct {
	Name string
	Run  func(t *testing.T, newDatabase Factory)
}

// Tests returns Run's sub-tests.
func Tests() []Test {
	return []Test{
		{"Store/MigrateOnce", MigrateOnce},
		{"Store/DuplicateEmail", DuplicateEmail},
		{"Store/ConsumeTokenOnce", ConsumeTokenOnce},
		{"Store/ConditionalUpdateOnce", ConditionalUpdateOnce},
		{"Store/ConsumeVersusReissue", ConsumeVersusReissue},
		{"Store/MailWorkers", MailWorkers},
		{"Store/MailLeaseExpires", MailLeaseExpires},
		{"Store/Settings", Settings},
		{"Store/RotateSessionOnce", RotateSessionOnce},
		{"Store/RenewSessionOnce", RenewSessionOnce},
		{"Store/KeepAdmin", KeepAdmin},
		{"Manager/SettingsShared", ManagersSettingsShared},
		{"Manager/RegistrationOneUser", ManagersRegistrationOneUser},
		{"Manager/WorkersSendEachMailOnce", ManagersWorkersSendEachMailOnce},
	}
}

// instances returns n Stores on one fresh database, each on a handle of
// its own.
func instances(t *testing.T, newDatabase Factory, n int) []store.Store {
	t.Helper()
	db := newDatabase(t)
	stores := make([]store.Store, n)
	for i := range stores {
		s, err := db.Connect(t)(t.Context())
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		stores[i] = s
	}
	return stores
}

func ptr[T any](v T) *T { return &v }

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

// must fails the test now when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// MigrateOnce: ten instances starting at once on an empty database all
// succeed, the schema is migrated once (each version recorded once, every
// one applied), and every instance works on it.
func MigrateOnce(t *testing.T, newDatabase Factory) {
	db := newDatabase(t)
	const n = 10
	news := make([]func(context.Context) (store.Store, error), n)
	for i := range news {
		news[i] = db.Connect(t) // connected before the race
	}
	stores := make([]store.Store, n)
	errs := make([]error, n)
	began := time.Now()
	testkit.Start(n, func(i int) { stores[i], errs[i] = news[i](t.Context()) })
	t.Logf("%d concurrent constructors: %v", n, time.Since(began))
	for i, err := range errs {
		must(t, fmt.Sprintf("instance %d", i), err)
	}
	if db.Migrations != nil {
		rows, versions := db.Migrations(t)
		if rows != versions {
			t.Errorf("migrations table: %d rows for %d versions; want each version recorded once", rows, versions)
		}
		if versions != db.Want {
			t.Errorf("migrations table: %d versions; want %d (every migration applied)", versions, db.Want)
		}
	}
	for i, s := range stores {
		must(t, fmt.Sprintf("CreateRole on instance %d", i), s.CreateRole(t.Context(), &store.Role{ID: fmt.Sprint(i), Name: "r"}))
	}
	for i, s := range stores {
		list, err := s.ListRoles(t.Context())
		must(t, "ListRoles", err)
		if len(list) != n {
			t.Errorf("instance %d sees %d roles; want %d", i, len(list), n)
		}
	}
}

// DuplicateEmail: 100 registrations of one address, in mixed case, across
// 4 instances: one user, 99 ErrDuplicateEmail, and only the winner's token
// and mail.
func DuplicateEmail(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 4)
	const n = 100
	errs := make([]error, n)
	began := time.Now()
	testkit.Start(n, func(i int) {
		email := mixedCase("someone@example.com", i)
		u := testkit.User(fmt.Sprint("u", i), email)
		u.Status = store.StatusUnverified
		fx := store.Effects{
			Token: &store.Token{Hash: testkit.HashOf(u.ID), Purpose: store.PurposeVerifyEmail, UserID: u.ID, EmailKey: u.EmailKey, CreatedAt: testkit.T0, ExpiresAt: testkit.T0.Add(time.Hour)},
			Mail:  testkit.Mail("m"+u.ID, u.ID, email, testkit.T0),
		}
		errs[i] = stores[i%len(stores)].CreateUser(ctx, u, fx)
	})
	t.Logf("%d concurrent CreateUser of one email on %d instances: %v", n, len(stores), time.Since(began))
	if ok := testkit.Wins(t, "CreateUser", errs, store.ErrDuplicateEmail); ok != 1 {
		t.Errorf("%d registrations won; want exactly 1", ok)
	}
	list, err := stores[1].ListUsers(ctx, store.UserQuery{})
	must(t, "ListUsers", err)
	if len(list) != 1 {
		t.Fatalf("%d users; want 1", len(list))
	}
	ms, err := stores[2].ListMail(ctx, store.MailQuery{})
	must(t, "ListMail", err)
	if len(ms) != 1 {
		t.Fatalf("%d mails; want 1 (the losers' mails were not written)", len(ms))
	}
	if ms[0].UserID != list[0].ID {
		t.Errorf("the mail is for %s; want the winner %s", ms[0].UserID, list[0].ID)
	}
	for i := range n {
		id := fmt.Sprint("u", i)
		_, err := stores[3].GetToken(ctx, testkit.HashOf(id))
		if (id == list[0].ID) != (err == nil) {
			t.Errorf("token of %s: %v (the winner is %s): only the winner's token is written", id, err, list[0].ID)
		}
	}
}

// ConsumeTokenOnce: a token consumed at once on every instance succeeds
// once, and only the winner's effects are written; ten rounds.
func ConsumeTokenOnce(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 4)
	const rounds, consumers = 10, 12
	var elapsed time.Duration
	for r := range rounds {
		id := fmt.Sprint("u", r)
		u := testkit.User(id, id+"@example.com")
		u.Status = store.StatusUnverified
		tok := &store.Token{Hash: testkit.HashOf(id), Purpose: store.PurposeVerifyEmail, UserID: id, EmailKey: u.EmailKey, CreatedAt: testkit.T0, ExpiresAt: testkit.T0.Add(time.Hour)}
		must(t, "CreateUser", stores[0].CreateUser(ctx, u, store.Effects{Token: tok}))

		errs := make([]error, consumers)
		began := time.Now()
		testkit.Start(consumers, func(i int) {
			_, errs[i] = stores[i%len(stores)].ConsumeToken(ctx, testkit.HashOf(id), store.PurposeVerifyEmail, testkit.T0,
				store.Condition{Status: store.StatusUnverified},
				store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: testkit.T0.Add(time.Second)},
				store.Effects{Mail: testkit.Mail(fmt.Sprint("m", r, "-", i), id, u.Email, testkit.T0)})
		})
		elapsed += time.Since(began)
		if ok := testkit.Wins(t, fmt.Sprintf("round %d: ConsumeToken", r), errs, store.ErrTokenUsed); ok != 1 {
			t.Errorf("round %d: %d consumers won; want exactly 1", r, ok)
		}
		ms, err := stores[1].ListMail(ctx, store.MailQuery{To: u.Email})
		must(t, "ListMail", err)
		if len(ms) != 1 {
			t.Errorf("round %d: %d mails; want 1 (only the winner's effects are written)", r, len(ms))
		}
	}
	t.Logf("%d rounds of %d concurrent ConsumeToken on %d instances: %v", rounds, consumers, len(stores), elapsed)
}

// ConditionalUpdateOnce: a precondition is checked against the row as the
// last writer left it: of 20 concurrent "invited → active" changes, one
// applies, with its effects.
func ConditionalUpdateOnce(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 4)
	u := testkit.User("u1", "a@example.com")
	u.Status = store.StatusInvited
	must(t, "CreateUser", stores[0].CreateUser(ctx, u, store.Effects{}))
	const n = 20
	errs := make([]error, n)
	testkit.Start(n, func(i int) {
		_, errs[i] = stores[i%len(stores)].UpdateUser(ctx, "u1", store.Condition{Status: store.StatusInvited},
			store.UserChange{Status: ptr(store.StatusActive), FirstName: ptr(fmt.Sprint(i)), UpdatedAt: testkit.T0},
			store.Effects{Mail: testkit.Mail(fmt.Sprint("m", i), "u1", u.Email, testkit.T0)})
	})
	if ok := testkit.Wins(t, "UpdateUser", errs, store.ErrConflict); ok != 1 {
		t.Errorf("%d updates applied; want exactly 1", ok)
	}
	ms, err := stores[3].ListMail(ctx, store.MailQuery{})
	must(t, "ListMail", err)
	if len(ms) != 1 {
		t.Errorf("%d mails; want 1", len(ms))
	}
}

// ConsumeVersusReissue: consuming a user's token while another instance
// re-issues it may deadlock inside a database that locks the token and the
// user in opposite orders; a store retries, so callers only ever see one
// of the two orders: consumed then re-issued, or revoked then not found.
func ConsumeVersusReissue(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 2)
	const rounds = 30
	consumed, revoked := 0, 0
	for r := range rounds {
		id := fmt.Sprint("u", r)
		u := testkit.User(id, id+"@example.com")
		u.Status = store.StatusUnverified
		old := &store.Token{Hash: testkit.HashOf(id + "old"), Purpose: store.PurposeVerifyEmail, UserID: id, CreatedAt: testkit.T0, ExpiresAt: testkit.T0.Add(time.Hour)}
		must(t, "CreateUser", stores[0].CreateUser(ctx, u, store.Effects{Token: old}))
		var consumeErr, reissueErr error
		testkit.Start(2, func(i int) {
			if i == 0 {
				_, consumeErr = stores[0].ConsumeToken(ctx, old.Hash, store.PurposeVerifyEmail, testkit.T0, store.Condition{},
					store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: testkit.T0}, store.Effects{})
				return
			}
			fresh := &store.Token{Hash: testkit.HashOf(id + "new"), Purpose: store.PurposeVerifyEmail, UserID: id, CreatedAt: testkit.T0, ExpiresAt: testkit.T0.Add(time.Hour)}
			_, reissueErr = stores[1].UpdateUser(ctx, id, store.Condition{}, store.UserChange{UpdatedAt: testkit.T0}, store.Effects{Token: fresh})
		})
		must(t, fmt.Sprintf("round %d: reissue", r), reissueErr)
		switch {
		case consumeErr == nil:
			consumed++
		case errors.Is(consumeErr, store.ErrInvalidToken) && !errors.Is(consumeErr, store.ErrTokenUsed):
			revoked++
		default:
			t.Fatalf("round %d: consume: %v", r, consumeErr)
		}
		if _, err := stores[0].GetToken(ctx, testkit.HashOf(id+"new")); err != nil {
			t.Errorf("round %d: the re-issued token: %v", r, err)
		}
	}
	t.Logf("consumed first %d times, revoked first %d times", consumed, revoked)
}

// MailWorkers: two workers on two instances claim batches and mark them
// sent: each of 200 mails is claimed exactly once, every batch in order.
func MailWorkers(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 2)
	const mails = 200
	for i := range mails {
		id := fmt.Sprintf("u%03d", i)
		// Creation times repeat, so the order also depends on the id.
		must(t, "CreateUser", stores[i%2].CreateUser(ctx, testkit.User(id, id+"@example.com"),
			store.Effects{Mail: testkit.Mail("m"+id, id, id+"@example.com", testkit.T0.Add(time.Duration(i%7)*time.Second))}))
	}
	now := testkit.T0.Add(time.Minute)
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		perWkr  [2]int
		total   atomic.Int64
		failed  atomic.Bool
	)
	began := time.Now()
	testkit.Start(2, func(w int) {
		s := stores[w]
		for total.Load() < mails && !failed.Load() {
			batch, err := s.ClaimMail(ctx, now, now.Add(time.Minute), 5)
			if err != nil {
				t.Errorf("worker %d: ClaimMail: %v", w, err)
				failed.Store(true)
				return
			}
			for i := 1; i < len(batch); i++ {
				a, b := batch[i-1], batch[i]
				if store.CompareMail(a, b) >= 0 {
					t.Errorf("worker %d: batch out of order: %s before %s", w, a.ID, b.ID)
				}
			}
			for _, m := range batch {
				mu.Lock()
				claimed[m.ID]++
				perWkr[w]++
				mu.Unlock()
				sent := now
				if err := s.UpdateMail(ctx, m.ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: now, SentAt: &sent, ClearBody: true}); err != nil {
					t.Errorf("worker %d: UpdateMail: %v", w, err)
					failed.Store(true)
					return
				}
				total.Add(1)
			}
		}
	})
	t.Logf("2 workers delivered %d mails in %v (%d + %d)", mails, time.Since(began), perWkr[0], perWkr[1])
	if len(claimed) != mails {
		t.Errorf("%d mails claimed; want %d", len(claimed), mails)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("mail %s claimed %d times", id, n)
		}
	}
	pending, err := stores[0].ListMail(ctx, store.MailQuery{Status: store.MailPending})
	must(t, "ListMail", err)
	if len(pending) != 0 {
		t.Errorf("%d mails still pending", len(pending))
	}
	sent, err := stores[1].ListMail(ctx, store.MailQuery{Status: store.MailSent})
	must(t, "ListMail", err)
	if len(sent) != mails {
		t.Errorf("%d mails sent; want %d", len(sent), mails)
	}
}

// MailLeaseExpires: a worker that claimed mails and died: another instance
// cannot claim them while the lease runs, and can once it has ended.
func MailLeaseExpires(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 2)
	for i := range 3 {
		id := fmt.Sprint("u", i)
		must(t, "CreateUser", stores[0].CreateUser(ctx, testkit.User(id, id+"@example.com"),
			store.Effects{Mail: testkit.Mail("m"+id, id, id+"@example.com", testkit.T0)}))
	}
	leaseEnd := testkit.T0.Add(time.Minute)
	dead, err := stores[0].ClaimMail(ctx, testkit.T0, leaseEnd, 2)
	must(t, "ClaimMail", err)
	if len(dead) != 2 {
		t.Fatalf("claimed %d; want 2", len(dead))
	}
	got, err := stores[1].ClaimMail(ctx, testkit.T0.Add(30*time.Second), testkit.T0.Add(90*time.Second), 10)
	must(t, "ClaimMail", err)
	if len(got) != 1 || got[0].ID != "mu2" {
		t.Fatalf("claimed %v while the lease runs; want only the unclaimed mu2", mailIDs(got))
	}
	got, err = stores[1].ClaimMail(ctx, leaseEnd, leaseEnd.Add(time.Minute), 10)
	must(t, "ClaimMail", err)
	if len(got) != 2 || got[0].ID != dead[0].ID || got[1].ID != dead[1].ID {
		t.Fatalf("claimed %v once the lease ended; want the dead worker's %v", mailIDs(got), mailIDs(dead))
	}
	if got[0].LeaseUntil == nil || !got[0].LeaseUntil.Equal(leaseEnd.Add(time.Minute)) {
		t.Errorf("new lease %v; want %v", got[0].LeaseUntil, leaseEnd.Add(time.Minute))
	}
}

func mailIDs(ms []*store.Mail) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

// Settings: a document saved on one instance is what the others read
// next.
func Settings(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 3)
	for i, doc := range []string{`{"public_registration":true}`, `{"public_registration":false}`} {
		must(t, "SaveSettings", stores[i].SaveSettings(ctx, []byte(doc)))
		for j, s := range stores {
			got, err := s.Settings(ctx)
			must(t, "Settings", err)
			if string(got) != doc {
				t.Errorf("instance %d reads %q after instance %d saved %q", j, got, i, doc)
			}
		}
	}
}

// RotateSessionOnce: one refresh token presented at once on every
// instance is rotated once; every other caller finds it rotated already,
// so the session ends, and the winner's new token ends with it. Ten
// rounds.
func RotateSessionOnce(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 4)
	must(t, "CreateUser", stores[0].CreateUser(ctx, testkit.User("u1", "a@example.com"), store.Effects{}))
	const rounds, callers = 10, 8
	for r := range rounds {
		sid := fmt.Sprint("s", r)
		old := testkit.HashOf(sid + "old")
		must(t, "CreateSession", stores[r%len(stores)].CreateSession(ctx, &store.Session{
			ID: sid, UserID: "u1", TokenHash: old, CreatedAt: testkit.T0, RefreshedAt: testkit.T0, ExpiresAt: testkit.T0.Add(time.Hour),
		}, store.Condition{Status: store.StatusActive}))
		errs := make([]error, callers)
		testkit.Start(callers, func(i int) {
			_, _, errs[i] = stores[i%len(stores)].RotateSession(ctx, old, testkit.HashOf(fmt.Sprint(sid, "new", i)),
				testkit.T0.Add(time.Minute), testkit.T0.Add(2*time.Hour), store.Condition{Status: store.StatusActive})
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Errorf("round %d: callers %d and %d both rotated the token", r, winner, i)
				}
				winner = i
			case !errors.Is(err, store.ErrTokenReused) && !errors.Is(err, store.ErrInvalidToken):
				t.Errorf("round %d: caller %d: %v; want nil, ErrTokenReused or ErrInvalidToken", r, i, err)
			}
		}
		if winner < 0 {
			t.Errorf("round %d: no caller rotated the token", r)
			continue
		}
		if _, err := stores[0].GetSession(ctx, sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("round %d: GetSession after a reuse: %v; want ErrNotFound (the session ended)", r, err)
		}
		_, _, err := stores[1].RotateSession(ctx, testkit.HashOf(fmt.Sprint(sid, "new", winner)), testkit.HashOf(sid+"next"),
			testkit.T0.Add(2*time.Minute), testkit.T0.Add(3*time.Hour), store.Condition{})
		if !errors.Is(err, store.ErrInvalidToken) {
			t.Errorf("round %d: the winner's new token after the session ended: %v; want ErrInvalidToken", r, err)
		}
	}
}

// RenewSessionOnce: one session-cookie generation renewed at once on every
// instance advances once; every other caller, within the grace, gets the
// session as the winner left it; after the grace, the retired generation
// ends the session. Five rounds.
func RenewSessionOnce(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 4)
	must(t, "CreateUser", stores[0].CreateUser(ctx, testkit.User("u1", "a@example.com"), store.Effects{}))
	const rounds, callers, grace = 5, 8, 10 * time.Second
	now := testkit.T0.Add(time.Minute)
	for r := range rounds {
		sid := fmt.Sprint("s", r)
		must(t, "CreateSession", stores[r%len(stores)].CreateSession(ctx, &store.Session{
			ID: sid, UserID: "u1", TokenHash: testkit.HashOf(sid), CreatedAt: testkit.T0, RefreshedAt: testkit.T0, ExpiresAt: testkit.T0.Add(time.Hour),
		}, store.Condition{Status: store.StatusActive}))
		got := make([]*store.Session, callers)
		errs := make([]error, callers)
		testkit.Start(callers, func(i int) {
			got[i], _, errs[i] = stores[i%len(stores)].RenewSession(ctx, sid, 0, now, grace, store.Condition{Status: store.StatusActive})
		})
		for i, err := range errs {
			switch {
			case err != nil:
				t.Errorf("round %d: caller %d: %v; want every renewal within the grace to succeed", r, i, err)
			case got[i].Generation != 1:
				t.Errorf("round %d: caller %d: generation %d; want 1 (exactly one renewal advances it)", r, i, got[i].Generation)
			}
		}
		s, err := stores[1].GetSession(ctx, sid)
		if err != nil || s.Generation != 1 {
			t.Errorf("round %d: GetSession after the renewals = %+v, %v; want generation 1", r, s, err)
		}
		_, _, err = stores[2].RenewSession(ctx, sid, 0, now.Add(grace), grace, store.Condition{})
		if !errors.Is(err, store.ErrTokenReused) {
			t.Errorf("round %d: the retired generation after the grace: %v; want ErrTokenReused", r, err)
		}
		if _, err := stores[3].GetSession(ctx, sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("round %d: GetSession after a reuse: %v; want ErrNotFound (the session ended)", r, err)
		}
	}
}

// KeepAdmin: eight administrators removed at once from four instances —
// half suspended with UpdateUser, half deleted with DeleteUsers, all with
// Condition.KeepAdmin — leave exactly one: seven calls succeed and one
// gets ErrLastAdmin.
func KeepAdmin(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	stores := instances(t, newDatabase, 4)
	admin := &store.Role{ID: "admin", Name: "Administrator", AdminAccess: true}
	must(t, "CreateRole", stores[0].CreateRole(ctx, admin))
	const n = 8
	for i := range n {
		u := testkit.User(fmt.Sprint("a", i), fmt.Sprintf("a%d@example.com", i))
		u.Role = ptr(admin.ID)
		must(t, "CreateUser", stores[i%len(stores)].CreateUser(ctx, u, store.Effects{}))
	}
	errs := make([]error, n)
	cond := store.Condition{KeepAdmin: true}
	testkit.Start(n, func(i int) {
		s, id := stores[i%len(stores)], fmt.Sprint("a", i)
		if i%2 == 0 {
			_, errs[i] = s.UpdateUser(ctx, id, cond, store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: testkit.T0}, store.Effects{})
		} else {
			errs[i] = s.DeleteUsers(ctx, []string{id}, cond)
		}
	})
	if ok := testkit.Wins(t, "removal", errs, store.ErrLastAdmin); ok != n-1 {
		t.Errorf("%d removals succeeded; want %d, and one ErrLastAdmin", ok, n-1)
	}
	list, err := stores[0].ListUsers(ctx, store.UserQuery{Role: ptr(admin.ID)})
	must(t, "ListUsers", err)
	active := 0
	for _, u := range list {
		if u.Status == store.StatusActive {
			active++
		}
	}
	if active != 1 {
		t.Errorf("%d active administrators remain; want 1", active)
	}
}
