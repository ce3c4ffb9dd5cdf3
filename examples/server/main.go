// Command server serves the users library's Directus-compatible HTTP API
// (package httpapi), so that a client written for Directus's user flows —
// register, verify email, invite, accept invite, users, roles, settings,
// login — can talk to a Go app instead.
//
//	go run ./examples/server
//
// It listens on 127.0.0.1:8055 with SQLite in ./users.db, prints every mail
// to stdout unless SMTP is configured, and runs the mail delivery worker.
// It is configured by environment variables, named like Directus's where
// Directus has one:
//
//	HOST, PORT                      listen address (127.0.0.1, 8055)
//	PUBLIC_URL                      base of the links in mails (http://HOST:PORT)
//	DB_CLIENT                       sqlite3 (default), pg, or mysql (MySQL 8 and MariaDB 10.6+)
//	DB_FILENAME                     SQLite file (users.db)
//	DB_CONNECTION_STRING            PostgreSQL DSN with pg; with mysql, a driver DSN
//	                                (user:pass@tcp(host:3306)/db) or mysql:// URL
//	DB_HOST, DB_PORT, DB_DATABASE, DB_USER, DB_PASSWORD   with mysql, instead (port 3306)
//	EMAIL_SMTP_HOST, EMAIL_SMTP_PORT, EMAIL_SMTP_USER, EMAIL_SMTP_PASSWORD,
//	EMAIL_SMTP_SECURE (implicit TLS), EMAIL_SMTP_IGNORE_TLS (no TLS), EMAIL_FROM
//	USER_REGISTER_URL_ALLOW_LIST    comma-separated verification_url allow-list
//	USER_INVITE_URL_ALLOW_LIST      comma-separated invite_url allow-list
//	ADMIN_TOKEN                     static bearer token accepted as admin
//	ADMIN_EMAIL, ADMIN_PASSWORD     the first administrator, created when none exists
//	IP_TRUST_PROXY                  proxies whose X-Forwarded-For is believed
//	HASH_MEMORY_COST, HASH_TIME_COST, HASH_PARALLELISM   argon2id parameters
//	RATE_LIMITER_REGISTRATION_ENABLED, RATE_LIMITER_REGISTRATION_POINTS,
//	RATE_LIMITER_REGISTRATION_DURATION   registrations per client IP (true, 5, 60 s)
//	RATE_LIMITER_MAIL_POINTS, RATE_LIMITER_MAIL_DURATION   verification mails per address (5 per 3600 s)
//	RATE_LIMITER_MAIL_ADMIN_POINTS, RATE_LIMITER_MAIL_ADMIN_DURATION   invitation mails per address (10 per 3600 s)
//	GOMEMLIMIT                      Go's soft memory limit (default: 2 × cores × HASH_MEMORY_COST + 64 MiB)
//	SHUTDOWN_TIMEOUT                seconds in-flight requests get on SIGINT/SIGTERM (15)
//	MAIL_RETRY_BACKOFF, MAIL_SEND_TIMEOUT, MAIL_LEASE   delivery policy, Go durations (30s, 1m, 5m)
//	SECRET, ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL, REFRESH_TOKEN_COOKIE_*, SESSION_COOKIE_*,
//	PASSWORD_RESET_URL_ALLOW_LIST, RATE_LIMITER_LOGIN_{ADDRESS,IP,DEVICE}_{POINTS,DURATION}
//	                                sessions, password reset, login limits: see sessionConfig
//
// The admin console (package webui) is served at /admin/: sign in there
// as the administrator ADMIN_EMAIL/ADMIN_PASSWORD created. The links in
// mails open its pages (/admin/verify-email, /admin/accept-invite,
// /admin/set-password, /admin/reset-password).
//
// Settings start as the library's defaults (registration off) and are
// changed on /admin/settings or with PATCH /settings.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/mailer/smtpmailer"
	"github.com/gousers/users/store/pgstore"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/webui"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	setMemoryLimit(os.Getenv)
	if err := run(ctx, os.Getenv, os.Stdout, log, nil); err != nil {
		log.Error("server stopped", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully: the listener
// closes, in-flight requests finish (up to SHUTDOWN_TIMEOUT), and the mail
// worker stops. Mail goes to mailOut when no SMTP host is configured.
// ready, when not nil, is called with the listening address once the
// server accepts connections.
func run(ctx context.Context, getenv func(string) string, mailOut io.Writer, log *slog.Logger, ready func(addr string)) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	store, newLimiter, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	mailer, mailerName, err := newMailer(cfg, mailOut)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr())
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	limits, err := newLimits(ctx, cfg, newLimiter)
	if err != nil {
		return err
	}
	m, err := users.New(store, mailer, append([]users.Option{
		users.WithMailLimiter(limits.mail),
		users.WithAdminMailLimiter(limits.adminMail),
		users.WithLoginLimiter(limits.login),
		users.WithLoginIPLimiter(limits.loginIP),
		users.WithDeviceLimiter(limits.loginDevice),
		users.WithPublicURL(cfg.PublicURL),
		users.WithRegisterURLAllowList(cfg.RegisterAllowList...),
		users.WithInviteURLAllowList(cfg.InviteAllowList...),
		users.WithHasher(&cfg.Argon2),
		users.WithLogger(log),
		users.WithDelivery(cfg.delivery()),
		users.WithLinkPaths(webui.LinkPaths(consolePrefix)),
	}, cfg.Sessions.options()...)...)
	if err != nil {
		return err
	}
	if m.SecretIsRandom() {
		log.Warn("SECRET is not set: tokens are signed with a random secret drawn at start-up, so they stop working when the process restarts and other instances refuse them; set SECRET (at least 32 characters)")
	}
	if err := bootstrapAdmin(ctx, m, getenv("ADMIN_EMAIL"), getenv("ADMIN_PASSWORD"), log); err != nil {
		return err
	}
	handler := withConsole(m, cfg, log, httpapi.New(m, handlerOptions(cfg, log, limits.register)...))
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

	log.Info("users server listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL,
		"db", cfg.DBClient, "mailer", mailerName, "admin_token", cfg.AdminToken != "")
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopWorker()
		<-workerDone
		return err
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("in-flight requests did not finish within %s", cfg.ShutdownTimeout)
	}
	// One last pass sends what the last requests queued; the rest stays in
	// the outbox for the next start.
	if _, derr := m.DeliverPending(sctx); derr != nil && sctx.Err() == nil {
		log.Warn("final mail delivery", "error", derr)
	}
	stopWorker()
	<-workerDone
	log.Info("stopped")
	return err
}

// limiterFunc makes a rate limiter whose counts live in the store's
// database, shared by every instance on it.
type limiterFunc func(ctx context.Context, name string, points int, window time.Duration) (users.Limiter, error)

// openStore opens the store DB_CLIENT names and returns it with the
// function that releases it, and the constructor of limiters in its
// database (nil for SQLite: a file serves one instance).
func openStore(ctx context.Context, cfg config) (users.Store, limiterFunc, func(), error) {
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
			return nil, nil, nil, err
		}
		newLimiter := func(ctx context.Context, name string, points int, window time.Duration) (users.Limiter, error) {
			return pgstore.NewLimiter(ctx, pool, name, points, window)
		}
		return s, newLimiter, pool.Close, nil
	default:
		s, db, err := sqlitestore.Open(cfg.DBFilename)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, nil, func() { _ = s.Close(); _ = db.Close() }, nil
	}
}

// limits are the server's rate limiters: in PostgreSQL or MySQL when the
// store is (so that every instance shares the counts), else in memory. register is
// nil when RATE_LIMITER_REGISTRATION_ENABLED is false.
type limits struct {
	register, mail, adminMail, login, loginIP, loginDevice users.Limiter
}

func newLimits(ctx context.Context, cfg config, newLimiter limiterFunc) (limits, error) {
	type spec struct {
		dst    *users.Limiter
		name   string
		points int
		window time.Duration
	}
	var l limits
	specs := []spec{
		{&l.mail, "mail-recipient", cfg.MailLimitPoints, cfg.MailLimitDuration},
		{&l.adminMail, "mail-admin", cfg.AdminMailLimitPoints, cfg.AdminMailLimitDuration},
		{&l.login, "login-failures", cfg.Sessions.LoginAddress.Points, cfg.Sessions.LoginAddress.Window},
		{&l.loginIP, "login-ip", cfg.Sessions.LoginIP.Points, cfg.Sessions.LoginIP.Window},
		{&l.loginDevice, "login-device", cfg.Sessions.LoginDevice.Points, cfg.Sessions.LoginDevice.Window},
	}
	if cfg.RegisterLimitEnabled {
		specs = append(specs, spec{&l.register, "register-ip", cfg.RegisterLimitPoints, cfg.RegisterLimitDuration})
	}
	for _, s := range specs {
		if newLimiter == nil {
			*s.dst = users.NewMemoryLimiter(s.points, s.window)
			continue
		}
		pl, err := newLimiter(ctx, s.name, s.points, s.window)
		if err != nil {
			return limits{}, err
		}
		*s.dst = pl
	}
	return l, nil
}

// newMailer returns the SMTP mailer when EMAIL_SMTP_HOST is set, else a
// mailer that prints each mail to out.
func newMailer(cfg config, out io.Writer) (users.Mailer, string, error) {
	if cfg.SMTPHost == "" {
		return logmailer.New(out), "log", nil
	}
	mode := smtpmailer.STARTTLS
	switch {
	case cfg.SMTPSecure:
		mode = smtpmailer.ImplicitTLS
	case cfg.SMTPIgnoreTLS:
		mode = smtpmailer.Plain
	}
	m, err := smtpmailer.New(smtpmailer.Config{
		Host:     cfg.SMTPHost,
		Port:     cfg.SMTPPort,
		Username: cfg.SMTPUser,
		Password: cfg.SMTPPassword,
		From:     cfg.EmailFrom,
		TLS:      mode,
	})
	if err != nil {
		return nil, "", err
	}
	return m, "smtp " + cfg.SMTPHost, nil
}

// handlerOptions configures the HTTP API from cfg.
func handlerOptions(cfg config, log *slog.Logger, register users.Limiter) []httpapi.Option {
	opts := []httpapi.Option{
		httpapi.WithLogger(log),
		httpapi.WithTrustedProxies(cfg.TrustedProxies...),
	}
	if cfg.AdminToken != "" {
		opts = append(opts, httpapi.WithAuthorizer(httpapi.BearerToken(cfg.AdminToken)))
	}
	if register != nil {
		opts = append(opts, httpapi.WithRegisterRateLimiter(register))
	}
	return append(opts, cfg.Sessions.handlerOptions()...)
}
