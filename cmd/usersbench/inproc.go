package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mattn/go-sqlite3"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/userstest"
)

// inproc runs the operations against a Manager in this process.
type inproc struct {
	cfg     config
	where   string
	store   store.Store
	closers []func() error // run in reverse order

	m     *users.Manager // measured: the run's hasher, library defaults otherwise
	setup *users.Manager // prepares tokens: fast hasher, no mail limit, tapped store
	tap   *tokenTap
	role  string
	seq   *emailSeq

	stopDelivery func()
	// counter, when set, counts the statements the store sends
	// (-count-statements).
	counter *sqlCounter
	// wal, with counter on SQLite, counts the pages each flow writes.
	wal *walMeter
}

func newInproc(ctx context.Context, cfg config, stderr io.Writer) (_ *inproc, err error) {
	d := &inproc{cfg: cfg, seq: newEmailSeq()}
	defer func() {
		if err != nil {
			_ = d.close()
		}
	}()
	if err := d.openStore(ctx); err != nil {
		return nil, err
	}
	var discard discardMailer
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []users.Option{users.WithHasher(cfg.Argon2.hasher()), users.WithLogger(log)}
	if cfg.HashLimit != (hashLimit{}) {
		lim := users.DefaultLimits()
		lim.HashConcurrency, lim.HashQueue = cfg.HashLimit.Limit, cfg.HashLimit.Queue
		opts = append(opts, lim)
	}
	if d.m, err = users.New(d.store, discard, opts...); err != nil {
		return nil, err
	}
	d.tap = &tokenTap{Store: d.store}
	unmailed := users.DefaultLimits()
	unmailed.Mail = nil
	if d.setup, err = users.New(d.tap, discard, users.WithHasher(userstest.Hasher{}), unmailed, users.WithLogger(log)); err != nil {
		return nil, err
	}
	role, err := d.m.CreateRole(ctx, users.Role{Name: "usersbench " + d.seq.prefix})
	if err != nil {
		return nil, err
	}
	d.role = role.ID
	s := users.DefaultSettings()
	s.PublicRegistration, s.PublicRegistrationRole = true, &role.ID
	if _, err := d.m.UpdateSettings(ctx, s); err != nil {
		return nil, err
	}
	if cfg.Deliver {
		dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = d.m.Run(dctx)
		}()
		d.stopDelivery = func() { cancel(); <-done }
	}
	return d, nil
}

func (d *inproc) openStore(ctx context.Context) error {
	switch d.cfg.Store {
	case "memory":
		d.store, d.where = memstore.New(), "memory"
	case "sqlite":
		path := d.cfg.DB
		if path == "" {
			dir, err := os.MkdirTemp("", "usersbench-")
			if err != nil {
				return err
			}
			if !d.cfg.Keep {
				d.closers = append(d.closers, func() error { return os.RemoveAll(dir) })
			}
			path = filepath.Join(dir, "users.db")
		}
		s, db, err := d.openSQLite(path)
		if err != nil {
			return err
		}
		d.closers = append(d.closers, db.Close, s.Close)
		d.store, d.where = s, "sqlite "+path
	case "pg":
		pcfg, err := pgxpool.ParseConfig(d.cfg.DSN)
		if err != nil {
			return fmt.Errorf("-dsn: %w", err)
		}
		if d.counter != nil {
			pcfg.ConnConfig.Tracer = pgxCounter{d.counter}
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return fmt.Errorf("-dsn: %w", err)
		}
		d.closers = append(d.closers, func() error { pool.Close(); return nil })
		schema := "usersbench_" + d.seq.prefix
		if !d.cfg.Keep {
			d.closers = append(d.closers, func() error {
				_, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
				return err
			})
		}
		s, err := pgstore.New(ctx, pool, pgstore.WithSchema(schema))
		if err != nil {
			return err
		}
		d.store, d.where = s, "pg schema "+schema
	case "mysql":
		return d.openMySQL(ctx)
	default:
		return fmt.Errorf("unknown store %q", d.cfg.Store)
	}
	return nil
}

// openSQLite opens the store's file as sqlitestore.Open does, through the
// statement counter when there is one.
func (d *inproc) openSQLite(path string) (*sqlitestore.Store, *sql.DB, error) {
	if d.counter == nil {
		return sqlitestore.Open(path)
	}
	// Without automatic checkpoints, the log keeps every page each flow
	// writes for walMeter to count.
	db := sql.OpenDB(&countingConnector{next: dsnConnector{dsn: sqlitestore.DSN(path), drv: &sqlite3.SQLiteDriver{}},
		c: d.counter, rowsf: sqliteRows(), init: "PRAGMA wal_autocheckpoint=0"})
	d.wal = &walMeter{db: db, path: path + "-wal"}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	s, err := sqlitestore.New(db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return s, db, nil
}

func (d *inproc) describe() string { return d.where }

func (d *inproc) close() error {
	if d.stopDelivery != nil {
		d.stopDelivery()
		d.stopDelivery = nil
	}
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	return errors.Join(errs...)
}

// settle delivers the mail earlier phases and the preparation queued, so
// that the worker is idle when the phase starts.
func (d *inproc) settle(ctx context.Context) error {
	if !d.cfg.Deliver {
		return nil
	}
	_, err := d.m.DeliverPending(ctx)
	return err
}

func (d *inproc) prepare(ctx context.Context, op string, n, c int) (opFunc, error) {
	m, pw := d.m, d.cfg.Password
	switch op {
	case opRegister:
		return func(ctx context.Context) error {
			return libErr(m.Register(ctx, users.RegisterInput{Email: d.seq.next(), Password: pw}))
		}, nil

	case opVerify:
		pool, err := d.verifyTokens(ctx, n)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			tok, ok := pool.get()
			if !ok {
				return errExhausted
			}
			_, err := m.VerifyEmail(ctx, tok)
			return libErr(err)
		}, nil

	case opVerifyGarbage:
		pool := garbageTokens(4096)
		return func(ctx context.Context) error {
			_, err := m.VerifyEmail(ctx, pool.cycle())
			return garbageResult(err)
		}, nil

	case opInvite:
		return func(ctx context.Context) error {
			res, err := m.Invite(ctx, users.InviteInput{Emails: []string{d.seq.next()}, Role: d.role})
			if err == nil && len(res) == 1 && res[0].Err != nil {
				err = res[0].Err
			}
			return libErr(err)
		}, nil

	case opAccept:
		pool, err := d.inviteTokens(ctx, n)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			tok, ok := pool.get()
			if !ok {
				return errExhausted
			}
			_, err := m.AcceptInvite(ctx, tok, pw)
			return libErr(err)
		}, nil

	case opList, opMe:
		return nil, fmt.Errorf("%s runs over HTTP only (-http)", op)

	case opLogin:
		emails, err := d.loginUsers(ctx, loginUserCount(c))
		if err != nil {
			return nil, err
		}
		var i atomic.Uint64
		return func(ctx context.Context) error {
			e := emails[i.Add(1)%uint64(len(emails))]
			_, err := m.Authenticate(ctx, e, pw)
			return libErr(err)
		}, nil
	}
	return nil, fmt.Errorf("unknown operation %q", op)
}

// loginUserCount is how many users the login phase spreads over: one per
// worker up to 32, so that no single row or limiter key is the hot spot.
func loginUserCount(c int) int { return min(c, 32) }

// verifyTokens registers n new addresses through the setup Manager and
// returns their verification tokens.
func (d *inproc) verifyTokens(ctx context.Context, n int) (*tokenPool, error) {
	err := parallel(ctx, n, func(ctx context.Context) error {
		return d.setup.Register(ctx, users.RegisterInput{Email: d.seq.next(), Password: d.cfg.Password})
	})
	if err != nil {
		return nil, err
	}
	return d.tap.take(n)
}

// inviteTokens invites n new addresses through the setup Manager, up to
// users.MaxInviteEmails per call, and returns their invite tokens.
func (d *inproc) inviteTokens(ctx context.Context, n int) (*tokenPool, error) {
	for left := n; left > 0; {
		k := min(left, users.MaxInviteEmails)
		emails := make([]string, k)
		for i := range emails {
			emails[i] = d.seq.next()
		}
		if _, err := d.setup.Invite(ctx, users.InviteInput{Emails: emails, Role: d.role}); err != nil {
			return nil, err
		}
		left -= k
	}
	return d.tap.take(n)
}

// loginUsers creates k active users with the run's password, hashed by the
// measured Manager (so at the run's parameters), and returns their
// addresses.
func (d *inproc) loginUsers(ctx context.Context, k int) ([]string, error) {
	emails := make([]string, k)
	for i := range emails {
		emails[i] = d.seq.next()
		if _, err := d.m.CreateUser(ctx, users.CreateUserInput{Email: emails[i], Password: d.cfg.Password}); err != nil {
			return nil, err
		}
	}
	return emails, nil
}

// parallel calls fn n times on GOMAXPROCS goroutines and returns the first
// error.
func parallel(ctx context.Context, n int, fn func(context.Context) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first error
		once  sync.Once
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := fn(ctx); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// libErr names the library's errors by their sentinel in the report.
func libErr(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []struct {
		name string
		err  error
	}{
		{"ErrBusy", users.ErrBusy},
		{"ErrRateLimited", users.ErrRateLimited},
		{"ErrTokenUsed", users.ErrTokenUsed},
		{"ErrTokenExpired", users.ErrTokenExpired},
		{"ErrInvalidToken", users.ErrInvalidToken},
		{"ErrInvalidCredentials", users.ErrInvalidCredentials},
		{"context deadline", context.DeadlineExceeded},
		{"context canceled", context.Canceled},
	} {
		if errors.Is(err, s.err) {
			return &kindError{kind: s.name, err: err}
		}
	}
	return err
}

// garbageResult turns VerifyEmail's answer to a garbage token into the
// operation's outcome: the rejection is the success.
func garbageResult(err error) error {
	switch {
	case err == nil:
		return &kindError{kind: "garbage token accepted", err: errors.New("VerifyEmail accepted a token that was never issued")}
	case errors.Is(err, users.ErrInvalidToken):
		return nil
	}
	return libErr(err)
}

// tokenTap is a Store that reads the token out of the mail of every change
// the Manager writes through it, as a user would from their inbox (the
// store itself only ever gets a token's hash), and writes the change
// without the mail.
type tokenTap struct {
	store.Store
	mu     sync.Mutex
	tokens []string
}

func (t *tokenTap) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	tok := t.token(&fx)
	err := t.Store.CreateUser(ctx, u, fx)
	if err == nil {
		t.keep(tok)
	}
	return err
}

func (t *tokenTap) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
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
func (t *tokenTap) token(fx *store.Effects) *string {
	if fx.Mail == nil {
		return nil
	}
	tok := memmailer.Token(users.Message{Text: fx.Mail.Text})
	fx.Mail = nil
	return &tok
}

func (t *tokenTap) keep(tok *string) {
	if tok == nil {
		return
	}
	t.mu.Lock()
	t.tokens = append(t.tokens, *tok)
	t.mu.Unlock()
}

// take returns the tokens kept since the last take, which must be want.
func (t *tokenTap) take(want int) (*tokenPool, error) {
	t.mu.Lock()
	toks := t.tokens
	t.tokens = nil
	t.mu.Unlock()
	if len(toks) != want {
		return nil, fmt.Errorf("preparation made %d tokens, want %d", len(toks), want)
	}
	for _, tok := range toks {
		if tok == "" {
			return nil, errors.New("a prepared mail had no token in its link")
		}
	}
	return &tokenPool{toks: toks}, nil
}

// tokenPool hands out tokens, each once (get) or round-robin (cycle).
type tokenPool struct {
	toks []string
	next atomic.Int64
}

func (p *tokenPool) get() (string, bool) {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.toks)) {
		return "", false
	}
	return p.toks[i], true
}

func (p *tokenPool) cycle() string {
	return p.toks[uint64(p.next.Add(1)-1)%uint64(len(p.toks))]
}

// garbageTokens returns n well-formed tokens (32 random bytes, base64url,
// as the library mints them) that were never issued: each costs the
// server a lookup, unlike a malformed one.
func garbageTokens(n int) *tokenPool {
	toks := make([]string, n)
	for i := range toks {
		var raw [32]byte
		_, _ = rand.Read(raw[:])
		toks[i] = base64.RawURLEncoding.EncodeToString(raw[:])
	}
	return &tokenPool{toks: toks}
}

// emailSeq makes addresses unique to this run (the store may be reused).
type emailSeq struct {
	prefix string
	n      atomic.Int64
}

func newEmailSeq() *emailSeq {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &emailSeq{prefix: hex.EncodeToString(b[:])}
}

func (s *emailSeq) next() string {
	return fmt.Sprintf("ub%s-%d@example.com", s.prefix, s.n.Add(1))
}

// discardMailer accepts every mail and sends none.
type discardMailer struct{}

func (discardMailer) Send(context.Context, users.Message) error { return nil }
