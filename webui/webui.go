// Package webui serves an administration console and the pages behind the
// mailed links of a users.Manager, as server-rendered HTML.
//
// # Pages
//
// Mounted at /admin/ (Directus's path), it serves:
//
//   - /admin/login: sign in (the built-in sign-in; see Access).
//   - /admin/settings: registration on or off, its role, email
//     verification, the email filter, the password policy, the project name.
//   - /admin/roles and /admin/roles/{id}: the roles; a role's users, with
//     "Create New", "Add Existing" (which names each candidate's current
//     role: adding moves them), "Invite Users" and one "Remove" per user.
//   - /admin/users and /admin/users/{id}: every user, searched, filtered by
//     status and paged, with "Create User", "Invite Users" and one "Delete"
//     per user; one user's role, status and names, "Resend" for a user
//     who never acted on its mail, and whether the user has two-factor
//     sign-in, with "Remove Two-Factor Sign-In" for one who lost its phone
//     and recovery codes.
//   - /admin/account: for every signed-in active user, not only
//     administrators: the names, the password (the current one required;
//     the other sessions end), an email change (applied when the link
//     mailed to the new address is used; see users.Manager.RequestEmailChange),
//     the account's sessions, with "Sign Out" for each and "Sign Out
//     Everywhere Else", and two-factor sign-in (set-up with a QR code
//     rendered on the server and the key as text, recovery codes shown
//     once, turning it off). A user whose role or policy requires two-factor
//     sign-in and has none is sent here before any other page. Not served
//     with WithAuthorizer (the console then knows no user).
//   - public pages: /admin/register, /admin/verify-email, /admin/accept-invite,
//     /admin/set-password, /admin/forgot-password, /admin/reset-password,
//     /admin/confirm-email and /admin/cancel-email-change.
//
// Remove and Delete ask first, on a page of their own (no script); an
// invitation's outcome is split into the invitations sent, the addresses
// refused (shown as a warning) and those left alone.
//
//	The pages behind mailed links never act on GET: a mail scanner that
//	opens a link consumes nothing.
//
// Pass [LinkPaths] to users.New so that the mailed links open these
// pages.
//
// Every page works without JavaScript (there is none) and loads nothing
// from another origin. Every change goes through the Manager; the console
// never touches a Store.
//
// # Access
//
// The admin pages need a signed-in administrator: an active user whose
// role or one of whose policies has admin access, signed in at
// /admin/login with the Manager's sessions (Manager.Login; the access and
// refresh tokens live in HttpOnly, SameSite=Lax cookies scoped to the
// console). The sign-in form takes a two-factor code (or a recovery code)
// for a user who has set one up; a user whose role or policy enforces
// two-factor sign-in and who has not set it up is sent to the account
// page's set-up until it has (users.Principal.TwoFactorSetupRequired). A
// host app with a login of its own passes [WithAuthorizer] instead, and
// the built-in sign-in is off.
//
// [WithUserSignIn] opens the sign-in, sign-out, forgot-password and
// reset-password pages to every active user, for a host app whose own
// pages are behind httpapi.Authenticate: a user without admin access lands
// on the app's page after signing in, and gets a 403 page from the
// console's admin pages.
//
// # Security
//
// Every answer carries a Content-Security-Policy that allows no script, no
// inline style and nothing from another origin (images inlined as data:
// URLs, the two-factor QR code, excepted), and forbids framing.
// State-changing requests from another origin are refused
// (http.CrossOriginProtection). Every value shown is escaped by
// html/template. Pages that answer for an address (register, forgot
// password) say the same whether or not a user has it.
//
// # Several instances
//
// Sessions live in the Manager's store, so any instance serves any
// signed-in administrator. The short outcome shown after a form (the
// "flash", in a cookie signed with a key each handler draws at New) is
// dropped when the next page is served by another instance: the change
// itself is made all the same.
package webui

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gousers/users"
)

// PageSize is how many users a list shows per page.
const PageSize = 50

// maxFormBytes bounds a form body (an invite list of 1000 addresses fits).
const maxFormBytes = 256 << 10

// LinkPaths returns the paths of the pages behind the mailed links when the
// console is served under prefix (DefaultPrefix when empty): a users.Links
// with its paths only, to pass to users.New beside the application's own
// Links (the public URL and allow-lists), so that the mailed links open
// these pages.
func LinkPaths(prefix string) users.Links {
	p := cleanPrefix(prefix)
	return users.Links{
		VerifyEmailPath:       p + "/verify-email",
		AcceptInvitePath:      p + "/accept-invite",
		SetPasswordPath:       p + "/set-password",
		ResetPasswordPath:     p + "/reset-password",
		ConfirmEmailPath:      p + "/confirm-email",
		CancelEmailChangePath: p + "/cancel-email-change",
	}
}

func cleanPrefix(p string) string {
	if p == "" {
		return DefaultPrefix
	}
	return "/" + strings.Trim(p, "/")
}

// handler serves the console.
type handler struct {
	m      *users.Manager
	cfg    config
	p      string // the prefix
	pages  pages
	static staticFiles
	mux    *http.ServeMux
	guard  http.Handler // mux behind the cross-origin check
	key    []byte       // signs the flash cookie
}

// New returns the console for m. It panics when m is nil or an option is
// invalid (a programming error, as http.ServeMux panics on a bad pattern).
func New(m *users.Manager, opts ...Option) http.Handler {
	if m == nil {
		panic("webui: New: nil *users.Manager")
	}
	c := config{prefix: DefaultPrefix, log: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	if c.prefix != "" && (!strings.HasPrefix(c.prefix, "/") || strings.ContainsAny(c.prefix, "?#{} ")) {
		panic(fmt.Sprintf("webui: WithPrefix: %q is not an absolute path", c.prefix))
	}
	if c.landing != "" && (c.landing[0] != '/' || strings.HasPrefix(c.landing, "//") || strings.ContainsAny(c.landing, "\\\r\n\t ")) {
		panic(fmt.Sprintf("webui: WithUserSignIn: %q is not an absolute path", c.landing))
	}
	if c.authorize != nil {
		c.landing = "" // the host app signs people in
	}
	c.prefix = cleanPrefix(c.prefix)
	if c.prefix == "/" {
		c.prefix = ""
	}
	h := &handler{m: m, cfg: c, p: c.prefix, mux: http.NewServeMux(), key: make([]byte, 32)}
	_, _ = rand.Read(h.key)
	h.pages = parsePages()
	h.static = loadStatic()
	h.static.cssURL, h.static.iconURL = h.static.url(h.p, "style.css"), h.static.url(h.p, "icon.svg")
	h.routes()
	cop := http.NewCrossOriginProtection()
	for _, o := range c.origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			panic("webui: WithTrustedOrigins: " + err.Error())
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(h.crossOrigin))
	h.guard = cop.Handler(h.mux)
	return h
}

func (h *handler) routes() {
	p := h.p
	handle := func(pattern string, f http.HandlerFunc) {
		if method, path, ok := strings.Cut(pattern, " "); ok {
			h.mux.HandleFunc(method+" "+p+path, f)
		} else {
			h.mux.HandleFunc(p+pattern, f)
		}
	}
	admin := func(pattern string, f http.HandlerFunc) { handle(pattern, h.admin(f)) }

	handle("GET /static/", h.serveStatic)
	handle("/", h.notFound)
	handle("GET /{$}", h.home)

	handle("GET /login", h.loginPage)
	handle("POST /login", h.login)
	handle("POST /logout", h.logout)

	admin("GET /settings", h.settingsPage)
	admin("POST /settings", h.saveSettings)
	admin("GET /roles", h.rolesPage)
	admin("POST /roles", h.createRole)
	admin("GET /roles/{id}", h.rolePage)
	admin("POST /roles/{id}/create", h.createInRole)
	admin("POST /roles/{id}/add", h.addToRole)
	admin("POST /roles/{id}/invite", h.inviteToRole)
	admin("GET /roles/{id}/remove", h.removeConfirm)
	admin("POST /roles/{id}/remove", h.removeFromRole)
	admin("GET /users", h.usersPage)
	admin("POST /users/create", h.createUser)
	admin("POST /users/invite", h.inviteUsers)
	admin("GET /users/{id}/delete", h.deleteConfirm)
	admin("POST /users/{id}/delete", h.deleteUser)
	admin("GET /users/{id}", h.userPage)
	admin("POST /users/{id}", h.saveUser)
	admin("POST /users/{id}/resend", h.resend)
	admin("POST /users/{id}/tfa/remove", h.removeTwoFactor)

	member := func(pattern string, f http.HandlerFunc) { handle(pattern, h.signedInMember(f)) }
	member("GET /account", h.accountPage)
	member("POST /account/names", h.saveNames)
	member("POST /account/password", h.changePassword)
	member("POST /account/email", h.changeEmail)
	member("POST /account/sessions/end", h.endSession)
	member("POST /account/tfa/generate", h.tfaGenerate)
	member("POST /account/tfa/enable", h.tfaEnable)
	member("POST /account/tfa/disable", h.tfaDisable)
	member("POST /account/tfa/recovery", h.tfaRecovery)
	handle("GET /confirm-email", h.emailChangePage(confirmEmail))
	handle("POST /confirm-email", h.emailChange(confirmEmail))
	handle("GET /confirm-email/done", h.done("Email Changed"))
	handle("GET /cancel-email-change", h.emailChangePage(cancelEmail))
	handle("POST /cancel-email-change", h.emailChange(cancelEmail))
	handle("GET /cancel-email-change/done", h.done("Email Change Cancelled"))

	handle("GET /register", h.registerPage)
	handle("POST /register", h.register)
	handle("GET /verify-email", h.verifyPage)
	handle("POST /verify-email", h.verify)
	handle("GET /accept-invite", h.acceptPage(acceptInvite))
	handle("POST /accept-invite", h.accept(acceptInvite))
	handle("GET /set-password", h.acceptPage(setPassword))
	handle("POST /set-password", h.accept(setPassword))
	h.resetRoutes(handle)
	handle("GET /register/done", h.done("Check Your Mail"))
	handle("GET /verify-email/done", h.done("Email Verified"))
	handle("GET /accept-invite/done", h.done("Invite Accepted"))
	handle("GET /set-password/done", h.done("Password Set"))
}

// ServeHTTP sets the headers every answer carries, then routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	// The pages behind mailed links carry a token in their URL: no
	// Referer may take it elsewhere.
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.guard.ServeHTTP(w, r)
}

// contentSecurityPolicy allows the console's own stylesheet and images
// (and images inlined as data: URLs, such as the two-factor set-up's QR
// code, rendered on the server) and nothing else: no script at all, no inline style, no other origin, no
// framing; forms post only to the console's origin.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, h.p+"/users", http.StatusSeeOther)
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	d := messageData{Alert: "There is no page at this address.", Next: "Check the address, or go to the sign-in page.", NextURL: h.p + "/login", NextText: "Sign In"}
	if h.cfg.authorize != nil {
		// The host app signs people in; there is no /login here.
		d.Next, d.NextURL, d.NextText = "Check the address.", h.signInURL(), "Home"
	}
	h.render(w, r, http.StatusNotFound, "message", &page{Title: "Page Not Found", Data: d})
}

func (h *handler) crossOrigin(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusForbidden, "message", &page{Title: "Request Refused",
		Data: messageData{Alert: "This form was sent from another site, so it was refused. Nothing was changed.", Next: "Open the page from the console and try again."}})
}

// parseForm reads a POST form, bounded in size.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return false
	}
	return true
}
