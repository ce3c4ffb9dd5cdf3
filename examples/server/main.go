// Command server serves the users library's Directus-compatible HTTP API
// (package httpapi), so that a client written for Directus's user flows —
// register, verify email, invite, accept invite, users, roles, settings,
// login — can talk to a Go app instead, with the admin console (package
// webui) at /admin/.
//
//	go run ./examples/server        # 127.0.0.1:8055, SQLite in ./users.db, mail printed
//	go run ./examples/server -h     # every environment variable, its default and meaning
//
// It is configured by environment variables, named like Directus's where
// Directus has one (config.go holds the table: name, default, meaning,
// parser; -h prints it). At start-up it logs the configuration in force,
// secrets redacted, checks the SMTP relay (EMAIL_VERIFY_SETUP), and says
// when no administrator can use the admin routes.
//
// Besides the API it serves GET /server/ping and GET /server/health
// (Directus's), GET /metrics in Prometheus format when METRICS_ENABLED,
// CORS with Directus's CORS_* variables, an access log line per request
// and an X-Request-Id on every answer.
//
// Settings start as the library's defaults (registration off) and are
// changed on /admin/settings or with PATCH /settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/internal/hashprocs"
	"github.com/gousers/users/internal/hashworker"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/webui"
)

func main() {
	// The server started again as a hashing child (HASH_PROCESSES).
	if code := hashworker.Main(); code >= 0 {
		os.Exit(code)
	}
	os.Exit(realMain(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// realMain runs the command and returns its exit status: 0 after -h or a
// clean stop, 2 for a bad command line, 1 when the server fails.
func realMain(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage is ours
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "server: %v\n\n", err)
		printHelp(stderr)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "server: unexpected argument %q (the server takes no arguments; it is configured by environment variables)\n\n", fs.Arg(0))
		printHelp(stderr)
		return 2
	}

	// The log's lines are written in batches (see logBuffer), warnings
	// and errors at once.
	logOut := newLogBuffer(stderr)
	defer logOut.Flush()
	opts := &slog.HandlerOptions{}
	var handler slog.Handler = slog.NewTextHandler(logOut, opts)
	cfg, err := loadConfig(getenv)
	if err == nil {
		opts.Level = cfg.LogLevel
		if cfg.LogJSON {
			handler = slog.NewJSONHandler(logOut, opts)
		}
	}
	log := slog.New(flushAt(handler, logOut, slog.LevelWarn))
	if err != nil || !cfg.hashInChildren() {
		// The server hashes itself: see setMemoryLimit and setProcs.
		setMemoryLimit(getenv)
		procs = setProcs(getenv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, getenv, stdout, log, nil); err != nil {
		log.Error("server stopped", "error", err)
		return 1
	}
	return 0
}

// procs switches GOMAXPROCS while hashing is contended (see setProcs); nil
// when GOMAXPROCS is set, and in tests, which call run directly.
var procs *hashprocs.Adaptive

// run serves until ctx is done, then shuts down gracefully: the listener
// closes, in-flight requests finish (up to SHUTDOWN_TIMEOUT), and the mail
// worker stops. Mail goes to mailOut with the log transport. ready, when
// not nil, is called with the listening address once the server accepts
// connections.
func run(ctx context.Context, getenv func(string) string, mailOut io.Writer, log *slog.Logger, ready func(addr string)) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log = slog.New(withRequestID(log.Handler()))
	store, newLimiter, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	mailer, err := newMailer(&cfg, mailOut)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr())
	if err != nil {
		return fmt.Errorf("HOST/PORT: %w", err)
	}
	defer ln.Close()
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && ap.Addr().IsUnspecified() {
			log.Warn("PUBLIC_URL is not set and the server listens on every interface: the links in mails point to "+
				cfg.PublicURL+", which no browser can open; set PUBLIC_URL to the address people reach the server at",
				"HOST", cfg.Host)
		}
	}
	logEffective(log, getenv, cfg.PublicURL)

	limits, err := newLimits(ctx, cfg, newLimiter)
	if err != nil {
		return err
	}
	var metrics *metrics
	if cfg.MetricsEnabled {
		metrics = newMetrics()
		limits.register = metrics.countRefusals(limits.register, "register")
	}
	// From the defaults, so that a limit the server has no variable for
	// (RequestStall) keeps its default.
	lim := users.DefaultLimits()
	lim.HashConcurrency = cfg.hashLimit()
	lim.HashQueue = cfg.HashQueue
	lim.HashWaitBudget = cfg.HashBudget
	lim.FailedLoginMinimum = cfg.LoginStall
	lim.Mail, lim.AdminMail = limits.mail, limits.adminMail
	lim.Login, lim.LoginIP, lim.LoginIPTotal = limits.login, limits.loginIP, limits.loginIPTotal
	lim.Device = limits.loginDevice
	lim.ResetRequestIP = limits.resetRequestIP
	var hasher users.Hasher = cfg.Argon2
	if cfg.hashInChildren() {
		pool, err := hashworker.Start(hashworker.Config{Hasher: cfg.Argon2, Workers: cfg.hashLimit(), Nice: cfg.HashNice})
		if err != nil {
			return fmt.Errorf("HASH_PROCESSES: %w", err)
		}
		defer pool.Close()
		hasher = pool
		log.Info("hashing passwords in child processes", "processes", cfg.hashLimit(), "nice", cfg.HashNice, "pids", pool.PIDs())
	}
	opts := []users.Option{
		lim,
		users.Links{PublicURL: cfg.PublicURL, RegisterURLs: cfg.RegisterAllowList, InviteURLs: cfg.InviteAllowList},
		webui.LinkPaths(consolePrefix),
		users.Lifetimes{VerifyEmail: cfg.VerifyTTL, Invite: cfg.InviteTTL},
		users.WithHasher(hasher),
		users.WithLogger(log),
		cfg.Delivery,
		users.WithProjectName(cfg.ProjectName),
		cfg.Health,
	}
	opts = append(opts, cfg.Sessions.options()...)
	hooks := users.Hooks{Handlers: webhookHandlers(&cfg, time.Now)}
	if cfg.RetentionEnabled {
		hooks.Retention = cfg.ActivityRetention
	}
	opts = append(opts, hooks)
	var observers []users.Observer
	if metrics != nil {
		observers = append(observers, metrics.observe)
	}
	if procs != nil {
		observers = append(observers, procs.Observe)
		go procs.Run(ctx)
	}
	switch len(observers) {
	case 1:
		opts = append(opts, users.WithObserver(observers[0]))
	case 2:
		opts = append(opts, users.WithObserver(func(o users.Observation) { observers[0](o); observers[1](o) }))
	}
	m, err := users.New(store, mailer, opts...)
	if err != nil {
		return managerError(err)
	}
	if metrics != nil {
		metrics.watch(m)
	}
	if m.SecretIsRandom() {
		log.Warn("SECRET is not set: tokens are signed with a random secret drawn at start-up, so they stop working when the process restarts and other instances refuse them; set SECRET (at least 32 characters)")
	}
	if err := bootstrapAdmin(ctx, m, cfg.AdminEmail, cfg.AdminPassword, log); err != nil {
		return err
	}
	if err := warnNoAdmin(ctx, m, cfg, log); err != nil {
		return err
	}
	warnMail(cfg, log)
	warnCORS(cfg, log)

	api := httpapi.New(m, handlerOptions(cfg, log, limits)...)
	handler := metrics.mount(withConsole(m, cfg, log, api, limits.register), m, cfg)
	handler = withCORS(cfg, handler)
	handler = withAccessLog(log, metrics, handler)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The worker outlives ctx until the HTTP server has drained, so that
	// mail queued by the last requests is still sent.
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		_ = m.Run(workerCtx)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	checkDone := make(chan struct{})
	go func() {
		defer close(checkDone)
		verifyMailSetup(workerCtx, cfg, mailer, log)
	}()

	log.Info("users server listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL,
		"console", strings.TrimSuffix(cfg.PublicURL, "/")+consolePrefix+"/",
		"db", cfg.DBClient, "mail", cfg.EmailTransport, "admin_token", cfg.AdminToken != "")
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopWorker()
		<-workerDone
		<-checkDone
		return err
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("in-flight requests did not finish within SHUTDOWN_TIMEOUT (%s)", cfg.ShutdownTimeout)
	}
	// One last pass sends what the last requests queued; the rest stays in
	// the outbox for the next start.
	if _, derr := m.DeliverPending(sctx); derr != nil && sctx.Err() == nil {
		log.Warn("final mail delivery", "error", derr)
	}
	stopWorker()
	<-workerDone
	<-checkDone
	log.Info("stopped")
	return err
}

// limiterFunc makes a rate limiter whose counts live in the store's
// database, shared by every instance on it.
type limiterFunc func(ctx context.Context, name string, points int, window time.Duration) (users.Limiter, error)

// openStore opens the store DB_CLIENT names and returns it with the
// function that releases it, and the constructor of limiters in its
// database (nil for SQLite: a file serves one instance).
func openStore(ctx context.Context, cfg config) (store.Store, limiterFunc, func(), error) {
	switch cfg.DBClient {
	case "mysql":
		return openMySQL(ctx, cfg)
	case "pg":
		pool, err := pgxpool.New(ctx, cfg.DBConnectionString)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("DB_CONNECTION_STRING: %w", err)
		}
		s, err := pgstore.New(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, nil, nil, fmt.Errorf("DB_CONNECTION_STRING: %w", err)
		}
		newLimiter := func(ctx context.Context, name string, points int, window time.Duration) (users.Limiter, error) {
			return pgstore.NewLimiter(ctx, pool, name, points, window)
		}
		return s, newLimiter, pool.Close, nil
	default:
		s, db, err := sqlitestore.Open(cfg.DBFilename)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("DB_FILENAME: %w", err)
		}
		return s, nil, func() { _ = s.Close(); _ = db.Close() }, nil
	}
}

// limits are the server's rate limiters: in PostgreSQL or MySQL when the
// store is (so that every instance shares the counts), else in memory.
// register is nil when RATE_LIMITER_REGISTRATION_ENABLED is false, public
// when RATE_LIMITER_ENABLED is.
type limits struct {
	public, register, mail, adminMail, login, loginIP, loginIPTotal, loginDevice, resetRequestIP users.Limiter
}

func newLimits(ctx context.Context, cfg config, newLimiter limiterFunc) (limits, error) {
	type spec struct {
		dst  *users.Limiter
		name string
		l    limitSpec
	}
	var l limits
	specs := []spec{
		{&l.mail, "mail-recipient", limitSpec{cfg.MailLimitPoints, cfg.MailLimitDuration}},
		{&l.adminMail, "mail-admin", limitSpec{cfg.AdminMailLimitPoints, cfg.AdminMailLimitDuration}},
		{&l.login, "login-failures", cfg.Sessions.LoginAddress},
		{&l.loginIP, "login-ip", cfg.Sessions.LoginIP},
		{&l.loginIPTotal, "login-ip-total", cfg.Sessions.LoginIPTotal},
		{&l.loginDevice, "login-device", cfg.Sessions.LoginDevice},
		{&l.resetRequestIP, "password-request-ip", cfg.Sessions.ResetRequestIP},
	}
	if cfg.RegisterLimitEnabled {
		specs = append(specs, spec{&l.register, "register-ip", limitSpec{cfg.RegisterLimitPoints, cfg.RegisterLimitDuration}})
	}
	if cfg.GlobalLimitEnabled {
		specs = append(specs, spec{&l.public, "public-ip", limitSpec{cfg.GlobalLimitPoints, cfg.GlobalLimitDuration}})
	}
	for _, s := range specs {
		if newLimiter == nil {
			*s.dst = &users.MemoryLimiter{Points: s.l.Points, Window: s.l.Window}
			continue
		}
		pl, err := newLimiter(ctx, s.name, s.l.Points, s.l.Window)
		if err != nil {
			return limits{}, err
		}
		*s.dst = pl
	}
	return l, nil
}

// handlerOptions configures the HTTP API from cfg.
func handlerOptions(cfg config, log *slog.Logger, l limits) []httpapi.Option {
	opts := []httpapi.Option{
		httpapi.WithLogger(log),
		httpapi.WithTrustedProxies(cfg.TrustedProxies...),
		httpapi.WithServiceID(cfg.Key),
	}
	if cfg.AdminToken != "" {
		opts = append(opts, httpapi.WithAuthorizer(httpapi.BearerToken(cfg.AdminToken)))
	}
	if l.register != nil {
		opts = append(opts, httpapi.WithRegisterRateLimiter(l.register))
	}
	if l.public != nil {
		opts = append(opts, httpapi.WithRateLimiter(l.public))
	}
	if cfg.VerifyRedirect != "" {
		opts = append(opts, httpapi.WithVerifyRedirect(cfg.VerifyRedirect))
	}
	return append(opts, cfg.Sessions.handlerOptions()...)
}

// warnNoAdmin warns, when ADMIN_TOKEN is not set, that no one can use the
// admin routes unless an active user has an admin role.
func warnNoAdmin(ctx context.Context, m *users.Manager, cfg config, log *slog.Logger) error {
	if cfg.AdminToken != "" {
		return nil
	}
	roles, err := m.ListRoles(ctx)
	if err != nil {
		return err
	}
	active, err := users.ParseFilter([]byte(`{"status":{"_eq":"active"}}`))
	if err != nil {
		return err
	}
	for _, r := range roles {
		if !r.AdminAccess {
			continue
		}
		n, err := m.CountUsers(ctx, users.UserQuery{Role: &r.ID, Filter: active})
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("ADMIN_TOKEN is not set: the admin routes accept the access tokens of administrators who log in")
			return nil
		}
	}
	log.Warn("ADMIN_TOKEN is not set and no active user has an admin role: every admin route (users, roles, invitations, settings) " +
		"will answer 403 FORBIDDEN; set ADMIN_TOKEN (16 characters or more), or ADMIN_EMAIL and ADMIN_PASSWORD to create the first administrator")
	return nil
}

// optionVariables names the variable behind each Manager option that
// users.New judges by the library's own rules rather than this loader: a
// *users.ValidationError from New names the option in its Field.
var optionVariables = map[string]string{
	"Links.PublicURL":         "PUBLIC_URL",
	"Links.RegisterURLs":      "USER_REGISTER_URL_ALLOW_LIST",
	"Links.InviteURLs":        "USER_INVITE_URL_ALLOW_LIST",
	"Links.PasswordResetURLs": "PASSWORD_RESET_URL_ALLOW_LIST",
	"WithProjectName":         "PROJECT_NAME",
}

// managerError turns New's refusal of an option into the loader's form,
// naming the variable to change.
func managerError(err error) error {
	var ve *users.ValidationError
	if errors.As(err, &ve) {
		if name, ok := optionVariables[ve.Field]; ok {
			return fmt.Errorf("configuration: %s: %s", name, strings.TrimPrefix(ve.Message(), ve.Field+": "))
		}
	}
	return err
}
