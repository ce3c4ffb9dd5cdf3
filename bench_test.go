package users_test

// Benchmarks of the Manager's flows and of the Store's token methods, on
// the in-memory and the SQLite stores. BENCHMARKS.md has the numbers from a
// real run and the commands that produced them.
//
// Each flow runs with three hashers, as sub-benchmarks named
// store=<memory|sqlite>/hash=<…>:
//
//   - hash=fake: userstest.Hasher, which makes the password work vanish,
//     so what is left is the library's own overhead (validation, token,
//     mail rendering, the store's transaction);
//   - hash=argon2-default: users.Argon2id{} (m=19456 KiB, t=2, p=1);
//   - hash=argon2-directus: Directus's m=65536 KiB, t=3, p=4.
//
// BenchmarkHash measures the hashers alone, so a flow's cost over its one
// hash is the difference. VerifyEmail and Invite hash nothing; they run with
// every hasher anyway, which shows it.
//
// What is measured and what is not:
//   - Setup (the store, roles, settings, the users that log in, the tokens
//     that VerifyEmail and AcceptInvite consume) is outside the timer. Tokens
//     are single-use, so they come from pools filled in batches with the
//     timer stopped (one StopTimer per batch, not per operation); the batches
//     are made by a second Manager on the same store with the fake hasher,
//     whose store is wrapped to read each token from the mail the Manager
//     hands it (and to drop that mail, which nobody would read).
//   - No mail delivery worker runs: mails stay pending in the outbox, as on
//     a server whose worker is behind. The request path is what is measured.
//   - Flows that create users make a new address per operation
//     (fmt.Sprintf, one or two small allocations of the counts reported).
//   - The measured Manager has the library's defaults otherwise: the hashing
//     concurrency limit, the mail limiter and the login limiter are on
//     (sequential calls never meet the first; the addresses are new, so the
//     second never holds a mail; logins succeed, so the third never refuses).
//   - The SQLite store grows during a run (every operation adds users,
//     tokens and mail), as it does in production. The memory store starts
//     over every memRenewEvery operations (see there for why).
//
// The email filter (5 clauses, 1,000 rules) and the URL allow-list have
// their benchmarks next to their code, in package users:
// filter_bench_test.go and allowlist_bench_test.go.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/userstest"
)

// benchPassword is long enough for any policy the benchmarks set.
const benchPassword = "correct-Horse-battery-9-staple!"

var benchHashers = []struct {
	name string
	h    func() users.Hasher
}{
	{"fake", func() users.Hasher { return userstest.Hasher{} }},
	{"argon2-default", func() users.Hasher { return users.Argon2id{} }},
	{"argon2-directus", func() users.Hasher { return benchDirectusArgon2() }},
}

// benchDirectusArgon2 returns the parameters Directus (node argon2) uses.
func benchDirectusArgon2() *users.Argon2id {
	return &users.Argon2id{Memory: 65536, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}
}

var benchStores = []string{"memory", "sqlite"}

// benchOpenStore returns a fresh, empty store of the given kind, closed
// when the benchmark ends.
func benchOpenStore(b *testing.B, kind string) store.Store {
	b.Helper()
	switch kind {
	case "memory":
		return memstore.New()
	case "sqlite":
		s, db, err := sqlitestore.Open(filepath.Join(b.TempDir(), "users.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = s.Close()
			_ = db.Close()
		})
		return s
	}
	b.Fatalf("unknown store %q", kind)
	return nil
}

// benchEnv is a store with public registration on (verification on, a
// role), a Manager with the hasher under test, and a setup Manager that
// makes tokens for the flows that consume them.
type benchEnv struct {
	ctx   context.Context
	m     *users.Manager // measured: the hasher under test
	setup *users.Manager // setup only: fake hasher, store tapped for tokens
	tap   *benchTap
	swap  *benchSwap // memory stores only: lets renew start over
	role  string
	seq   atomic.Int64
}

// newBenchEnv builds a benchEnv; opts are added to the measured Manager's
// options (library defaults otherwise, hash concurrency and mail and login
// limits included). The measured Manager works on the bare SQLite store,
// or on a memory store behind a benchSwap.
func newBenchEnv(b *testing.B, storeKind string, h users.Hasher, opts ...users.Option) *benchEnv {
	b.Helper()
	e := &benchEnv{ctx: context.Background()}
	st := benchOpenStore(b, storeKind)
	if storeKind == "memory" {
		e.swap = &benchSwap{Store: st}
		st = e.swap
	}
	quiet := slog.New(slog.DiscardHandler)
	nop := mailerFunc(func(context.Context, users.Message) error { return nil })
	var err error
	if e.m, err = users.New(st, nop, append([]users.Option{users.WithHasher(h), users.WithLogger(quiet)}, opts...)...); err != nil {
		b.Fatal(err)
	}
	e.tap = &benchTap{Store: st}
	if e.setup, err = users.New(e.tap, nop, users.WithHasher(userstest.Hasher{}), users.WithLogger(quiet)); err != nil {
		b.Fatal(err)
	}
	e.init(b)
	return e
}

// init creates the role and turns public registration on.
func (e *benchEnv) init(b *testing.B) {
	b.Helper()
	role, err := e.m.CreateRole(e.ctx, users.Role{Name: "Member"})
	if err != nil {
		b.Fatal(err)
	}
	s := users.DefaultSettings()
	s.PublicRegistration = true
	s.PublicRegistrationRole = &role.ID
	if _, err := e.m.UpdateSettings(e.ctx, s); err != nil {
		b.Fatal(err)
	}
	e.role = role.ID
}

// renew starts a memory-store env over on a fresh, empty store, keeping
// its Managers (building one hashes a dummy password, which at Directus's
// parameters costs as much as a hundred thousand verifications).
func (e *benchEnv) renew(b *testing.B) {
	b.Helper()
	e.swap.Store = memstore.New()
	e.init(b)
}

// benchSwap is a Store whose back-end a memory-store benchmark replaces
// between batches (with the timer stopped), through renew.
type benchSwap struct{ store.Store }

// email returns an address no user of the env has.
func (e *benchEnv) email() string {
	return fmt.Sprintf("user%d@example.com", e.seq.Add(1))
}

// verifyTokens registers n new users through the setup Manager and returns
// their verification tokens.
func (e *benchEnv) verifyTokens(b *testing.B, n int) []string {
	b.Helper()
	for range n {
		if err := e.setup.Register(e.ctx, users.RegisterInput{Email: e.email(), Password: benchPassword}); err != nil {
			b.Fatal(err)
		}
	}
	return e.tap.take(b, n)
}

// inviteTokens invites n new addresses through the setup Manager and
// returns their invite tokens.
func (e *benchEnv) inviteTokens(b *testing.B, n int) []string {
	b.Helper()
	for n > 0 {
		k := min(n, users.MaxInviteEmails)
		emails := make([]string, k)
		for i := range emails {
			emails[i] = e.email()
		}
		if _, err := e.setup.Invite(e.ctx, users.InviteInput{Emails: emails, Role: e.role}); err != nil {
			b.Fatal(err)
		}
		n -= k
	}
	return e.tap.take(b, -1)
}

// benchTap is a Store that reads the token out of the mail of every change
// the Manager writes through it, as a user would from their inbox (the
// store itself only ever gets a token's hash), and writes the change
// without the mail.
type benchTap struct {
	store.Store
	mu     sync.Mutex
	tokens []string
}

func (t *benchTap) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	tok := t.token(&fx)
	err := t.Store.CreateUser(ctx, u, fx)
	if err == nil {
		t.keep(tok)
	}
	return err
}

func (t *benchTap) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	tok := t.token(&fx)
	u, err := t.Store.UpdateUser(ctx, id, cond, ch, fx)
	if err == nil {
		t.keep(tok)
	}
	return u, err
}

// token reads the token out of fx's mail and takes the mail out of fx: a
// prepared user's mail is never read, and it would only swell the outbox
// (and the delivery worker's backlog).
func (t *benchTap) token(fx *store.Effects) *string {
	if fx.Mail == nil {
		return nil
	}
	tok := memmailer.Token(users.Message{Text: fx.Mail.Text})
	fx.Mail = nil
	return &tok
}

func (t *benchTap) keep(tok *string) {
	if tok == nil {
		return
	}
	t.mu.Lock()
	t.tokens = append(t.tokens, *tok)
	t.mu.Unlock()
}

// take returns the tokens kept since the last take; want >= 0 is how many
// there must be.
func (t *benchTap) take(b *testing.B, want int) []string {
	b.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.tokens
	t.tokens = nil
	if want >= 0 && len(out) != want {
		b.Fatalf("setup made %d tokens, want %d", len(out), want)
	}
	for _, tok := range out {
		if tok == "" {
			b.Fatal("a setup mail had no token in its link")
		}
	}
	return out
}

// benchPool hands out single-use tokens. When it runs dry it refills with
// the timer stopped, in batches that double up to 4096, so that the timer
// stops a few dozen times per benchmark at most.
type benchPool struct {
	b     *testing.B
	fill  func(n int) []string
	batch int
	toks  []string
}

func (p *benchPool) next() string {
	if len(p.toks) == 0 {
		p.b.StopTimer()
		p.batch = min(max(2*p.batch, 64), 4096)
		p.toks = p.fill(p.batch)
		if len(p.toks) == 0 {
			p.b.Fatal("the token pool's setup made no tokens")
		}
		p.b.StartTimer()
	}
	tok := p.toks[len(p.toks)-1]
	p.toks = p.toks[:len(p.toks)-1]
	return tok
}

// memRenewEvery is how many operations a memory-store benchmark runs on
// one store before it starts over on a fresh one (renew, timer stopped).
// memstore issues a token by scanning every token it holds, so its cost
// per token issued grows with the number of tokens written (see
// BenchmarkStoreIssueTokenAtSize): starting over keeps the memory numbers
// those of a small store — the library's own overhead — independent of how
// many iterations the benchmark runs, and keeps the setup of the flows that
// consume tokens from growing quadratically.
const memRenewEvery = 1000

// benchFlow prepares one flow on e (timer stopped) and returns the
// operation each iteration runs.
type benchFlow func(b *testing.B, e *benchEnv) func()

// benchMatrix runs flow for every store and hasher; opts go to
// newBenchEnv.
func benchMatrix(b *testing.B, flow benchFlow, opts ...users.Option) {
	for _, st := range benchStores {
		for _, h := range benchHashers {
			b.Run("store="+st+"/hash="+h.name, func(b *testing.B) { benchRun(b, st, h.h, flow, opts...) })
		}
	}
}

// benchRun runs flow on a store of the given kind with the hasher h makes.
func benchRun(b *testing.B, st string, h func() users.Hasher, flow benchFlow, opts ...users.Option) {
	e := newBenchEnv(b, st, h(), opts...)
	op := flow(b, e)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if e.swap != nil && n == memRenewEvery {
			b.StopTimer()
			e.renew(b)
			op, n = flow(b, e), 0
			b.StartTimer()
		}
		n++
		op()
	}
}

// BenchmarkRegisterNew exists because registration is the public, hashing,
// writing endpoint that takes the load: a new address costs one hash, one
// token, one rendered mail and one transaction (user + token + outbox row).
// With hash=fake it is the library's own overhead per registration.
func BenchmarkRegisterNew(b *testing.B) {
	benchMatrix(b, func(b *testing.B, e *benchEnv) func() {
		return func() {
			if err := e.m.Register(e.ctx, users.RegisterInput{Email: e.email(), Password: benchPassword}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRegisterExisting exists because the existing-address path must
// cost what the new-address path costs (so that the time of an answer
// does not tell whether an address has an account): it verifies the
// password against the stored hash (the same argon2 work as hashing), mints
// a new token, renders the mail again and writes it. The address is one
// still-unverified user, registered again with the same password. The mail
// limiter is off here: with the default (5 mails per address per hour)
// every call after the fifth would skip the token and the mail, and this
// would measure that cheaper path instead of the full one.
func BenchmarkRegisterExisting(b *testing.B) {
	benchMatrix(b, func(b *testing.B, e *benchEnv) func() {
		in := users.RegisterInput{Email: e.email(), Password: benchPassword}
		if err := e.m.Register(e.ctx, in); err != nil {
			b.Fatal(err)
		}
		return func() {
			if err := e.m.Register(e.ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}, limits(func(l *users.Limits) { l.Mail = nil }))
}

// BenchmarkVerifyEmail exists because following a verification link is a
// public endpoint with no hashing: its cost is the store's (token lookup,
// user lookup, one transaction that consumes the token and activates the
// user). Each operation consumes a fresh token of a new unverified user.
func BenchmarkVerifyEmail(b *testing.B) {
	benchMatrix(b, func(b *testing.B, e *benchEnv) func() {
		pool := &benchPool{b: b, fill: func(n int) []string { return e.verifyTokens(b, n) }}
		return func() {
			if _, err := e.m.VerifyEmail(e.ctx, pool.next()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyEmailGarbage exists because anyone can send tokens that
// were never issued, and rejecting them must be cheap: a well-formed
// unknown token costs one indexed lookup, a malformed one none. The hasher
// plays no part, so only the fake one runs.
func BenchmarkVerifyEmailGarbage(b *testing.B) {
	for _, st := range benchStores {
		e := newBenchEnv(b, st, userstest.Hasher{})
		var raw [32]byte
		_, _ = rand.Read(raw[:])
		for _, tc := range []struct{ name, token string }{
			{"wellformed", base64.RawURLEncoding.EncodeToString(raw[:])},
			{"malformed", "not-a-token"},
		} {
			b.Run("store="+st+"/token="+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := e.m.VerifyEmail(e.ctx, tc.token); !errors.Is(err, users.ErrInvalidToken) {
						b.Fatalf("VerifyEmail(garbage) = %v, want ErrInvalidToken", err)
					}
				}
			})
		}
	}
}

// BenchmarkInvite exists because an administrator may invite hundreds of
// people at once and each address is its own transaction with a token and
// a rendered mail (no hashing): this is the cost per new address.
func BenchmarkInvite(b *testing.B) {
	benchMatrix(b, func(b *testing.B, e *benchEnv) func() {
		return func() {
			if _, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{e.email()}, Role: e.role}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAcceptInvite exists because accepting an invitation is public
// and does one hash plus the token checks and one transaction (consume,
// set the password, activate). Each operation consumes a fresh invite.
func BenchmarkAcceptInvite(b *testing.B) {
	benchMatrix(b, func(b *testing.B, e *benchEnv) func() {
		pool := &benchPool{b: b, fill: func(n int) []string { return e.inviteTokens(b, n) }}
		return func() {
			if _, err := e.m.AcceptInvite(e.ctx, pool.next(), benchPassword); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAuthenticate exists because login is the most frequent
// password operation: one lookup and one verify of an active user's hash,
// made with the hasher under test.
func BenchmarkAuthenticate(b *testing.B) {
	benchMatrix(b, func(b *testing.B, e *benchEnv) func() {
		email := e.email()
		if _, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: email, Password: benchPassword}); err != nil {
			b.Fatal(err)
		}
		return func() {
			if _, err := e.m.Authenticate(e.ctx, email, benchPassword); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreate exists because admin creation (and bulk imports built
// on it) hashes each password and writes one user without mail.
func BenchmarkCreate(b *testing.B) {
	benchMatrix(b, func(b *testing.B, e *benchEnv) func() {
		return func() {
			if _, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: e.email(), Password: benchPassword}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRegisterNewWithRules exists to show what the settings' rules
// add to a registration: Directus's "strong" password policy (a
// backtracking regexp with lookaheads, run under a timeout) and a two-clause
// email filter. Compare with BenchmarkRegisterNew/…/hash=fake.
func BenchmarkRegisterNewWithRules(b *testing.B) {
	filter, err := users.ParseEmailFilter([]byte(`{"_and":[{"email":{"_ends_with":"@example.com"}},{"email":{"_nstarts_with":"test"}}]}`))
	if err != nil {
		b.Fatal(err)
	}
	policy, err := users.ParsePasswordPolicy(users.PasswordPolicyStrong)
	if err != nil {
		b.Fatal(err)
	}
	fake := func() users.Hasher { return userstest.Hasher{} }
	for _, st := range benchStores {
		b.Run("store="+st+"/hash=fake", func(b *testing.B) {
			benchRun(b, st, fake, func(b *testing.B, e *benchEnv) func() {
				s, err := e.m.Settings(e.ctx)
				if err != nil {
					b.Fatal(err)
				}
				s.PublicRegistrationEmailFilter, s.PasswordPolicy = filter, policy
				if _, err := e.m.UpdateSettings(e.ctx, s); err != nil {
					b.Fatal(err)
				}
				return func() {
					if err := e.m.Register(e.ctx, users.RegisterInput{Email: e.email(), Password: benchPassword}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkHash exists as the ceiling the hashing flows are compared with:
// Register, AcceptInvite, Authenticate and CreateUser each do exactly one of
// these (Verify costs what Hash costs), so flow minus hash is the library's
// overhead at real parameters.
func BenchmarkHash(b *testing.B) {
	for _, h := range benchHashers {
		b.Run("hash="+h.name, func(b *testing.B) {
			hasher := h.h()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := hasher.Hash(benchPassword); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Store-level token benchmarks, through the Store interface (no Manager):
// what issuing and consuming a token costs each back-end.

// benchTokenRecord returns a fresh token record for user, as the Manager
// makes one (the hash of 32 random bytes).
func benchTokenRecord(user string, purpose store.Purpose, now time.Time) *store.Token {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	sum := sha256.Sum256(raw[:])
	return &store.Token{Hash: sum[:], Purpose: purpose, UserID: user, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// benchStoreUser inserts a user with the given status (and optional
// token) directly in st.
func benchStoreUser(b *testing.B, st store.Store, id string, status users.Status, tok *store.Token, now time.Time) {
	b.Helper()
	u := &store.User{
		ID: id, Email: id + "@example.com", Status: status, CreatedAt: now, UpdatedAt: now,
		EmailKey: id + "@example.com",
	}
	if err := st.CreateUser(context.Background(), u, store.Effects{Token: tok}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStoreIssueToken exists because every verification mail and
// invite re-issues a token: UpdateUser with Effects.Token revokes the
// user's earlier unconsumed tokens of the purpose and inserts the new one,
// in one transaction.
func BenchmarkStoreIssueToken(b *testing.B) {
	for _, kind := range benchStores {
		b.Run("store="+kind, func(b *testing.B) {
			st := benchOpenStore(b, kind)
			ctx, now := context.Background(), time.Now().UTC()
			benchStoreUser(b, st, "u0", users.StatusInvited, nil, now)
			b.ReportAllocs()
			for b.Loop() {
				tok := benchTokenRecord("u0", store.PurposeInvite, now)
				if _, err := st.UpdateUser(ctx, "u0", store.Condition{Status: users.StatusInvited},
					store.UserChange{UpdatedAt: now}, store.Effects{Token: tok}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStoreConsumeToken exists because ConsumeToken is the atomic,
// single-use step of VerifyEmail and AcceptInvite: find the token, check
// it, mark it consumed, change its user, in one transaction. Each
// operation consumes a fresh token of its own unverified user, made in
// batches with the timer stopped.
func BenchmarkStoreConsumeToken(b *testing.B) {
	for _, kind := range benchStores {
		b.Run("store="+kind, func(b *testing.B) {
			ctx, now := context.Background(), time.Now().UTC()
			var (
				st   store.Store
				seq  int
				pool *benchPool
			)
			// renew starts on a fresh store; memory stores start over every
			// memRenewEvery operations (see there).
			renew := func() {
				st = benchOpenStore(b, kind)
				pool = &benchPool{b: b, fill: func(n int) []string {
					hashes := make([]string, n)
					for i := range hashes {
						seq++
						id := fmt.Sprintf("u%d", seq)
						tok := benchTokenRecord(id, store.PurposeVerifyEmail, now)
						benchStoreUser(b, st, id, users.StatusUnverified, tok, now)
						hashes[i] = string(tok.Hash)
					}
					return hashes
				}}
			}
			renew()
			active := users.StatusActive
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if kind == "memory" && n == memRenewEvery {
					b.StopTimer()
					renew()
					n = 0
					b.StartTimer()
				}
				n++
				if _, err := st.ConsumeToken(ctx, []byte(pool.next()), store.PurposeVerifyEmail, now,
					store.Condition{Status: users.StatusUnverified},
					store.UserChange{Status: &active, UpdatedAt: now}, store.Effects{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStoreIssueTokenAtSize exists to show how issuing a token scales
// with the number of tokens a store holds (every registration and invite
// leaves one): an indexed store should stay flat. memstore does not — it
// scans every token to revoke the user's earlier ones — which is why the
// memory-store flow benchmarks start over every memRenewEvery operations.
func BenchmarkStoreIssueTokenAtSize(b *testing.B) {
	for _, kind := range benchStores {
		for _, size := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("store=%s/tokens=%d", kind, size), func(b *testing.B) {
				st := benchOpenStore(b, kind)
				ctx, now := context.Background(), time.Now().UTC()
				for i := range size {
					id := fmt.Sprintf("u%d", i)
					benchStoreUser(b, st, id, users.StatusInvited, benchTokenRecord(id, store.PurposeInvite, now), now)
				}
				b.ReportAllocs()
				for b.Loop() {
					tok := benchTokenRecord("u0", store.PurposeInvite, now)
					if _, err := st.UpdateUser(ctx, "u0", store.Condition{Status: users.StatusInvited},
						store.UserChange{UpdatedAt: now}, store.Effects{Token: tok}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkStoreGetToken exists because every token the public endpoints
// receive is looked up first (liveToken): a hit is the first step of a
// valid verify or accept, a miss is all the work a well-formed garbage
// token causes.
func BenchmarkStoreGetToken(b *testing.B) {
	for _, kind := range benchStores {
		st := benchOpenStore(b, kind)
		now := time.Now().UTC()
		hit := benchTokenRecord("u0", store.PurposeVerifyEmail, now)
		benchStoreUser(b, st, "u0", users.StatusUnverified, hit, now)
		miss := benchTokenRecord("u0", store.PurposeVerifyEmail, now)
		for _, tc := range []struct {
			name string
			hash []byte
			want error
		}{{"hit", hit.Hash, nil}, {"miss", miss.Hash, store.ErrNotFound}} {
			b.Run("store="+kind+"/"+tc.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					_, err := st.GetToken(ctx, tc.hash)
					if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
						b.Fatalf("GetToken = %v, want %v", err, tc.want)
					}
				}
			})
		}
	}
}
