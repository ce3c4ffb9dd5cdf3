package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/validate"
	"github.com/gousers/users/store"
)

// This file is the account page — /account, for every signed-in active
// user, not only administrators: names, password, email, sessions — and
// the pages behind the links an email change mails (/confirm-email to the
// new address, /cancel-email-change to the current one).

// memberKey carries the signed-in user of an account page in a request's
// context.
type memberKey struct{}

// member is who an account page serves: the principal of the session
// cookie and the cookie's access token.
type member struct {
	p     *users.Principal
	token string
}

func memberFrom(ctx context.Context) *member {
	m, _ := ctx.Value(memberKey{}).(*member)
	return m
}

// signedInMember lets any signed-in active user through to f (the account
// page is everyone's); others go to the sign-in page. With an authorizer
// (the host app signs people in) the console knows no user: there is no
// account page.
func (h *handler) signedInMember(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.authorize != nil {
			h.notFound(w, r)
			return
		}
		m := h.resolveMember(w, r)
		if m == nil {
			target := h.p + "/login"
			if r.Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		ctx := context.WithValue(r.Context(), memberKey{}, m)
		if m.p.Admin {
			ctx = context.WithValue(ctx, adminKey{}, &adminInfo{email: m.p.User.Email, session: m.token})
		}
		f(w, r.WithContext(ctx))
	}
}

// resolveMember resolves the session cookie to its user, renewing an
// expired access token, or returns nil.
func (h *handler) resolveMember(w http.ResponseWriter, r *http.Request) *member {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ctx := r.Context()
	tok := c.Value
	p, err := h.m.ResolveAccessToken(ctx, tok)
	if errors.Is(err, users.ErrTokenExpired) {
		var s *users.Session
		if s, err = h.m.Refresh(ctx, tok); err == nil {
			h.setSession(w, r, s)
			tok = s.AccessToken
			p, err = h.m.ResolveAccessToken(ctx, tok)
		}
	}
	if err != nil {
		if pr := explain(err); pr.Internal {
			h.cfg.log.ErrorContext(ctx, "webui: resolving a session", "error", err)
		}
		return nil
	}
	return &member{p: p, token: tok}
}

// accountData is the account page.
type accountData struct {
	User     *users.User
	Sessions []sessionRow
	Others   int // sessions besides this one
	Policy   string
}

// sessionRow is one session in the account page's list.
type sessionRow struct {
	ID, UserAgent, IP, Started, LastUsed string
	Current                              bool
}

func (h *handler) accountPage(w http.ResponseWriter, r *http.Request) {
	h.showAccount(w, r, http.StatusOK, &page{})
}

// showAccount renders the account page with p's values, errors and
// alert.
func (h *handler) showAccount(w http.ResponseWriter, r *http.Request, status int, p *page) {
	m := memberFrom(r.Context())
	u, err := h.m.User(r.Context(), m.p.User.ID)
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Account"}, err)
		return
	}
	list, err := h.m.UserSessions(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Account"}, err)
		return
	}
	d := &accountData{User: u, Policy: h.policyHint(r)}
	for _, s := range list {
		row := sessionRow{ID: s.ID, UserAgent: s.UserAgent, IP: s.IP, Started: when(s.CreatedAt),
			LastUsed: when(s.RefreshedAt), Current: s.ID == m.p.SessionID}
		if row.UserAgent == "" {
			row.UserAgent = "Unknown"
		}
		if row.IP == "" {
			row.IP = "Unknown"
		}
		if !row.Current {
			d.Others++
		}
		d.Sessions = append(d.Sessions, row)
	}
	if p.Values == nil {
		p.Values = map[string]string{}
	}
	if _, ok := p.Values["first_name"]; !ok {
		p.Values["first_name"], p.Values["last_name"] = u.FirstName, u.LastName
	}
	p.Title, p.Nav, p.Data = "Account", "account", d
	h.render(w, r, status, "account", p)
}

// when words a time for the sessions list.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }

// accountDone goes back to the account page with an outcome.
func (h *handler) accountDone(w http.ResponseWriter, r *http.Request, msg string) {
	h.redirect(w, r, h.p+"/account", &flash{Status: []string{msg}})
}

// accountFail shows the account page again with err placed at field (or
// at the top).
func (h *handler) accountFail(w http.ResponseWriter, r *http.Request, p *page, err error, fields ...string) {
	pr, ok := h.failOn(w, r, "Account", p, err, fields...)
	if !ok {
		return
	}
	h.showAccount(w, r, pr.Status, p)
}

func (h *handler) saveNames(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	m := memberFrom(r.Context())
	first, last := strings.TrimSpace(r.PostForm.Get("first_name")), strings.TrimSpace(r.PostForm.Get("last_name"))
	p := &page{Values: map[string]string{"first_name": first, "last_name": last}}
	for _, n := range []struct{ field, v string }{{"first_name", first}, {"last_name", last}} {
		if reason := validate.Name(n.v); reason != "" {
			p.Errors = map[string]string{n.field: sentence(fieldLabels[n.field] + " " + reason)}
			h.showAccount(w, r, http.StatusUnprocessableEntity, p)
			return
		}
	}
	if _, err := h.m.UpdateUser(r.Context(), m.p.User.ID, users.UserPatch{FirstName: &first, LastName: &last}); err != nil {
		h.accountFail(w, r, p, err, "first_name", "last_name")
		return
	}
	h.accountDone(w, r, "Your name is saved.")
}

// changePassword changes the password given the current one. The Manager
// ends every session of the user; this browser signs in again with the
// new password, so that only the others end.
func (h *handler) changePassword(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	ctx := r.Context()
	m := memberFrom(ctx)
	f := r.PostForm
	p := &page{}
	if f.Get("password") != f.Get("confirm_password") {
		p.Errors = map[string]string{"confirm_password": "The two passwords differ. Type the same password in both fields."}
		h.showAccount(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	u, err := h.m.ChangePassword(ctx, m.p.User.ID, f.Get("current_password"), f.Get("password"))
	if err != nil {
		if errors.Is(err, users.ErrInvalidCredentials) {
			p.Errors = map[string]string{"current_password": "The current password is wrong."}
			h.showAccount(w, r, http.StatusUnauthorized, p)
			return
		}
		h.accountFail(w, r, p, err, "password")
		return
	}
	in := users.LoginInput{Email: u.Email, Password: f.Get("password"), IP: h.clientIP(r),
		UserAgent: r.UserAgent(), SessionCookie: true}
	if c, err := r.Cookie(deviceCookie); err == nil {
		in.Device = c.Value
	}
	s, err := h.m.Login(context.WithoutCancel(ctx), in)
	if err != nil {
		http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
		h.redirect(w, r, h.p+"/login", &flash{Status: []string{"Your password is changed and every session ended. Sign in with the new password."}})
		return
	}
	h.setSession(w, r, s)
	h.accountDone(w, r, "Your password is changed. Every other session is signed out.")
}

func (h *handler) changeEmail(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	m := memberFrom(r.Context())
	email := strings.TrimSpace(r.PostForm.Get("email"))
	p := &page{Values: map[string]string{"email": email}}
	if err := h.m.RequestEmailChange(r.Context(), m.p.User.ID, email, ""); err != nil {
		h.accountFail(w, r, p, err, "email")
		return
	}
	h.accountDone(w, r, "A link to confirm the change is on its way to "+email+
		". Your address changes when you open it (within an hour); until then, sign in with "+m.p.User.Email+".")
}

// endSession signs out one session of the user's own ("Sign Out" in the
// list), or every other one ("Sign Out Everywhere Else").
func (h *handler) endSession(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	ctx := r.Context()
	m := memberFrom(ctx)
	if r.PostForm.Get("others") != "" {
		n, err := h.m.EndUserSessions(ctx, m.p.User.ID, m.p.SessionID, true)
		if err != nil {
			h.accountFail(w, r, &page{}, err)
			return
		}
		h.accountDone(w, r, plural(n, "other session is", "other sessions are")+" signed out.")
		return
	}
	id := r.PostForm.Get("session")
	if id == m.p.SessionID {
		h.logout(w, r)
		return
	}
	n, err := h.m.EndUserSessions(ctx, m.p.User.ID, id, false)
	if err != nil {
		h.accountFail(w, r, &page{}, err)
		return
	}
	if n == 0 {
		h.accountDone(w, r, "That session had already ended.")
		return
	}
	h.accountDone(w, r, "The session is signed out.")
}

// emailChangeFlow is a page behind an email-change link: it shows what the
// link does and acts only on POST (a mail scanner that opens the link
// changes nothing).
type emailChangeFlow struct {
	name, title, button string
	purpose             store.Purpose
}

var (
	confirmEmail = emailChangeFlow{name: "confirm-email", title: "Confirm New Email", button: "Confirm New Email", purpose: store.PurposeEmailChange}
	cancelEmail  = emailChangeFlow{name: "cancel-email-change", title: "Cancel Email Change", button: "Cancel the Change", purpose: store.PurposeEmailChangeCancel}
)

// emailChangeData is the page behind an email-change link.
type emailChangeData struct {
	Token, From, To, Button string
	Cancel                  bool
	Bad, Next               string
}

func (h *handler) emailChangePage(fl emailChangeFlow) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		h.showEmailChange(w, r, fl, token, nil)
	}
}

// showEmailChange renders the page of a link: what it will do, or why it
// is no good (err, or the link's own state).
func (h *handler) showEmailChange(w http.ResponseWriter, r *http.Request, fl emailChangeFlow, token string, err error) {
	d := &emailChangeData{Token: token, Button: fl.button, Cancel: fl.purpose == store.PurposeEmailChangeCancel}
	status := http.StatusOK
	if err == nil {
		var u *users.User
		u, d.To, err = h.m.EmailChange(r.Context(), token, fl.purpose)
		if err == nil {
			d.From = u.Email
		}
	}
	if err != nil {
		pr := explain(err)
		if pr.Internal {
			h.fail(w, r, "message", &page{Title: fl.title}, err)
			return
		}
		d.Bad, status = pr.Msg, pr.Status
		d.Next = "Ask for the change again on your account page."
		if d.Cancel {
			d.Next = "A change that was confirmed can no longer be cancelled here: if it was not you, reset your password from the Forgot Password page with the new address, or ask an administrator."
		}
		if errors.Is(err, users.ErrDuplicateEmail) {
			d.Bad = "Another account has this address now, so the change cannot be made. Nothing was changed."
			d.Next = "Ask for a change to another address on your account page."
		}
	}
	h.render(w, r, status, "emailchange", &page{Title: fl.title, Data: d})
}

func (h *handler) emailChange(fl emailChangeFlow) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r) {
			return
		}
		token := r.PostForm.Get("token")
		var err error
		if fl.purpose == store.PurposeEmailChange {
			var u *users.User
			if u, err = h.m.ConfirmEmailChange(r.Context(), token); err == nil {
				http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
				h.redirect(w, r, h.p+"/"+fl.name+"/done", &flash{Status: []string{
					"Your account's address is now " + u.Email + ". Every session was signed out: sign in with the new address."}})
				return
			}
		} else {
			if _, err = h.m.CancelEmailChange(r.Context(), token); err == nil {
				http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
				h.redirect(w, r, h.p+"/"+fl.name+"/done", &flash{Status: []string{
					"The change is cancelled: your address stays as it is, and every session of your account was signed out. " +
						"If you did not ask for the change, choose a new password with the other link of the mail."}})
				return
			}
		}
		h.showEmailChange(w, r, fl, token, err)
	}
}
