// Command hostapp is a small web application that embeds the users library
// the way an application would: its own pages behind httpapi.RequireUser,
// the admin console at /admin/, the console's sign-in pages for every user
// (webui.WithUserSignIn), the Directus-compatible API at /api/, and a
// table of its own — the team — that it fills when an invitee accepts.
//
//	ADMIN_EMAIL=admin@example.com ADMIN_PASSWORD='a long passphrase' go run ./examples/hostapp
//	# open http://127.0.0.1:8080/ ; mail (with its links) is printed to stdout
//
// Environment: ADDR (default 127.0.0.1:8080), PUBLIC_URL (default
// http://ADDR), DB_FILENAME (default hostapp.db: the users and the team
// share one SQLite database), SECRET (signs the access tokens; without it
// every restart signs everyone out), ADMIN_EMAIL and ADMIN_PASSWORD (the
// first administrator, created at start-up when missing), DELIVERY_LEASE
// (how soon the deliveries of a process that died are taken over; default
// users.Delivery's). HOSTAPP_HOLD_HANDLER is for its test only.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/webui"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hostapp:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	addr := or(getenv("ADDR"), "127.0.0.1:8080")
	public := or(getenv("PUBLIC_URL"), "http://"+addr)

	st, db, err := sqlitestore.Open(or(getenv("DB_FILENAME"), "hostapp.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	team, err := openTeam(ctx, db, log)
	if err != nil {
		return err
	}

	opts := []users.Option{
		users.Links{PublicURL: public},
		webui.LinkPaths("/admin"), // the mailed links open the console's pages
		users.WithLogger(log),
	}
	if s := getenv("SECRET"); s != "" {
		opts = append(opts, users.WithSecret([]byte(s)))
	}
	opts = append(opts, team.options(getenv)...)
	m, err := users.New(st, logmailer.New(stdout), opts...)
	if err != nil {
		return err
	}
	if err := bootstrap(ctx, m, getenv("ADMIN_EMAIL"), getenv("ADMIN_PASSWORD")); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: routes(m, team), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	// The worker delivers the outbox's mail (and what else the Manager
	// queues) until ctx ends.
	go func() {
		if err := m.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("hostapp: worker stopped", "error", err)
		}
	}()
	log.Info("hostapp: listening", "url", public)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// routes mounts the library beside the application's own pages, all behind
// Authenticate, which tells each handler who is calling.
func routes(m *users.Manager, team *team) http.Handler {
	mux := http.NewServeMux()
	// The console, and the sign-in pages of every user: after signing in,
	// a member lands on /team, an administrator on the console.
	mux.Handle("/admin/", webui.New(m, webui.WithUserSignIn("/team")))
	// The Directus-compatible API, for scripts and the Directus SDK.
	mux.Handle("/api/", http.StripPrefix("/api", httpapi.New(m)))
	// The application's own pages.
	mux.HandleFunc("GET /{$}", home)
	mux.Handle("GET /team", httpapi.RequireUser(http.HandlerFunc(team.page)))
	return securityHeaders(httpapi.Authenticate(m, httpapi.WithSignInURL("/admin/login"))(mux))
}

// securityHeaders sets what every page of the application carries (the
// console sets its own).
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/admin/") {
			hdr := w.Header()
			hdr.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
			hdr.Set("X-Content-Type-Options", "nosniff")
			hdr.Set("Referrer-Policy", "no-referrer")
		}
		h.ServeHTTP(w, r)
	})
}

func home(w http.ResponseWriter, r *http.Request) {
	p := httpapi.PrincipalFrom(r.Context())
	data := pageData{Title: "Welcome"}
	if p != nil {
		data.Me = p.User.Email
	}
	render(w, http.StatusOK, "home", data)
}

// bootstrap creates the roles the application uses and, when ADMIN_EMAIL
// is set and no such user exists, the first administrator.
func bootstrap(ctx context.Context, m *users.Manager, email, password string) error {
	roles, err := m.ListRoles(ctx)
	if err != nil {
		return err
	}
	var admin, member *users.Role
	for _, r := range roles {
		switch r.Name {
		case "Administrator":
			admin = r
		case "Member":
			member = r
		}
	}
	if member == nil {
		if _, err := m.CreateRole(ctx, users.Role{Name: "Member", Description: "people invited to the team"}); err != nil {
			return err
		}
	}
	if email == "" {
		return nil
	}
	if password == "" {
		return errors.New("ADMIN_PASSWORD is required with ADMIN_EMAIL")
	}
	if admin == nil {
		if admin, err = m.CreateRole(ctx, users.Role{Name: "Administrator", AdminAccess: true}); err != nil {
			return err
		}
	}
	_, err = m.CreateUser(ctx, users.CreateUserInput{Email: email, Password: password, Role: &admin.ID})
	if errors.Is(err, users.ErrDuplicateEmail) {
		return nil // created at an earlier start
	}
	return err
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// team is the application's own table: who joined, filled by an event
// handler when an invitee accepts.
type team struct {
	db   *sql.DB
	log  *slog.Logger
	hold string // HOSTAPP_HOLD_HANDLER: see onEvent
}

func openTeam(ctx context.Context, db *sql.DB, log *slog.Logger) (*team, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS team_members (
	user_id   TEXT PRIMARY KEY,
	email     TEXT NOT NULL,
	joined_at TEXT NOT NULL
)`)
	if err != nil {
		return nil, fmt.Errorf("creating the team table: %w", err)
	}
	return &team{db: db, log: log}, nil
}

// member is a row of the team.
type member struct {
	Email, JoinedAt string
}

func (t *team) members(ctx context.Context) ([]member, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT email, joined_at FROM team_members ORDER BY joined_at, email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []member
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.Email, &m.JoinedAt); err != nil {
			return nil, err
		}
		list = append(list, m)
	}
	return list, rows.Err()
}

// page is /team: who is signed in, and the team.
func (t *team) page(w http.ResponseWriter, r *http.Request) {
	p := httpapi.PrincipalFrom(r.Context()) // RequireUser let only users through
	list, err := t.members(r.Context())
	if err != nil {
		slog.ErrorContext(r.Context(), "hostapp: reading the team", "error", err)
		http.Error(w, "The team could not be read.", http.StatusInternalServerError)
		return
	}
	render(w, http.StatusOK, "team", pageData{Title: "Team", Me: p.User.Email, Admin: p.Admin, Members: list})
}

// options returns the Manager options the team needs: its event handler,
// and the delivery policy (DELIVERY_LEASE shortens the lease after which
// the deliveries of a process that died are taken over; its test uses it).
func (t *team) options(getenv func(string) string) []users.Option {
	t.hold = getenv("HOSTAPP_HOLD_HANDLER")
	opts := []users.Option{users.Hooks{Handlers: map[string]func(context.Context, users.Event) error{
		"team": t.onEvent, // a stable name: pending deliveries are kept under it
	}}}
	if d, err := time.ParseDuration(getenv("DELIVERY_LEASE")); err == nil && d > 0 {
		opts = append(opts, users.Delivery{Lease: d, SendTimeout: d / 2, PollInterval: d / 4})
	}
	return opts
}

// onEvent adds an invitee to the team when the invitation is accepted.
// Events are delivered at least once (again after a crash, or after an
// error), so it is idempotent: the user's id is the row's key.
func (t *team) onEvent(ctx context.Context, e users.Event) error {
	if e.Flow != "invite_accepted" {
		return nil
	}
	res, err := t.db.ExecContext(ctx, `INSERT INTO team_members (user_id, email, joined_at) VALUES (?, ?, ?)
ON CONFLICT (user_id) DO NOTHING`, e.UserID, e.Email, e.Time.UTC().Format("2006-01-02 15:04:05"))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		t.log.InfoContext(ctx, "hostapp: joined the team", "user_id", e.UserID, "event", e.ID)
	} else {
		t.log.InfoContext(ctx, "hostapp: already on the team (event delivered again)", "user_id", e.UserID, "event", e.ID)
	}
	if t.hold != "" {
		// For the test: say the row is written, then never return, so
		// that the process can be killed before the delivery is
		// acknowledged.
		if err := os.WriteFile(t.hold, []byte(e.UserID), 0o600); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}
