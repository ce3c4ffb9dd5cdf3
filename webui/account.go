package webui

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"

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
		if m.p.TwoFactorSetupRequired && r.URL.Path != h.p+"/account" && !strings.HasPrefix(r.URL.Path, h.p+"/account/tfa/") {
			// Before anything else, the second factor its role requires.
			h.redirect(w, r, h.p+"/account", &flash{Alert: []string{"Your role requires two-factor sign-in: set it up to continue."}})
			return
		}
		ctx := context.WithValue(r.Context(), memberKey{}, m)
		if m.p.Admin {
			ctx = context.WithValue(ctx, adminKey{}, &adminInfo{id: m.p.User.ID, email: m.p.User.Email, session: m.token, admin: true})
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
		h.clearSession(w, r)
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

	// Two-factor sign-in.
	SetupRequired bool      // a role or policy requires it: nothing else until it is on
	Setup         *tfaSetup // a secret just drawn, to enable
	Codes         []string  // recovery codes just made: shown once
	CodesLeft     int
}

// tfaSetup is a secret drawn for the user, shown as a QR code and as text.
type tfaSetup struct {
	Secret  string
	Grouped string // the secret in groups of four, to type
	QR      template.URL
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
	h.showAccountWith(w, r, status, p, nil)
}

// showAccountWith renders the account page with what the two-factor
// forms just made (a secret to enable, recovery codes to show) in d.
func (h *handler) showAccountWith(w http.ResponseWriter, r *http.Request, status int, p *page, tfa *accountData) {
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
	d := &accountData{User: u, Policy: h.policyHint(r), SetupRequired: m.p.TwoFactorSetupRequired && !u.TwoFactor}
	if tfa != nil {
		d.Setup, d.Codes = tfa.Setup, tfa.Codes
	}
	if u.TwoFactor {
		if d.CodesLeft, err = h.m.RecoveryCodesLeft(r.Context(), u.ID); err != nil {
			h.fail(w, r, "message", &page{Title: "Account"}, err)
			return
		}
	}
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
		h.clearSession(w, r)
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
				h.clearSession(w, r)
				h.redirect(w, r, h.p+"/"+fl.name+"/done", &flash{Status: []string{
					"Your account's address is now " + u.Email + ". Every session was signed out: sign in with the new address."}})
				return
			}
		} else {
			if _, err = h.m.CancelEmailChange(r.Context(), token); err == nil {
				h.clearSession(w, r)
				h.redirect(w, r, h.p+"/"+fl.name+"/done", &flash{Status: []string{
					"The change is cancelled: your address stays as it is, and every session of your account was signed out. " +
						"If you did not ask for the change, choose a new password with the other link of the mail."}})
				return
			}
		}
		h.showEmailChange(w, r, fl, token, err)
	}
}

// tfaGenerate draws a secret (the password required) and shows it, as a
// QR code and as text, with the form that enables it.
func (h *handler) tfaGenerate(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	m := memberFrom(r.Context())
	secret, otpauth, err := h.m.GenerateTwoFactorSecret(r.Context(), m.p.User.ID, r.PostForm.Get("tfa_password"))
	p := &page{}
	if err != nil {
		if errors.Is(err, users.ErrInvalidCredentials) {
			p.Errors = map[string]string{"tfa_password": "The password is wrong."}
			h.showAccount(w, r, http.StatusUnauthorized, p)
			return
		}
		h.accountFail(w, r, p, err, "tfa_password")
		return
	}
	setup, err := newTFASetup(secret, otpauth)
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Account"}, err)
		return
	}
	h.showAccountWith(w, r, http.StatusOK, p, &accountData{Setup: setup})
}

// newTFASetup renders the QR code of otpauth on the server, as a PNG in a
// data: URL (the page runs no script).
func newTFASetup(secret, otpauth string) (*tfaSetup, error) {
	key, err := otp.NewKeyFromURL(otpauth)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	var groups []string
	for i := 0; i < len(secret); i += 4 {
		groups = append(groups, secret[i:min(i+4, len(secret))])
	}
	return &tfaSetup{Secret: secret, Grouped: strings.Join(groups, " "),
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))}, nil
}

// tfaEnable turns the drawn secret on with a code from the app, and shows
// the recovery codes once.
func (h *handler) tfaEnable(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	ctx := r.Context()
	m := memberFrom(ctx)
	secret := r.PostForm.Get("secret")
	codes, err := h.m.EnableTwoFactor(ctx, m.p.User.ID, secret, r.PostForm.Get("tfa_code"))
	if err != nil {
		p := &page{}
		pr := explain(err)
		if pr.Internal {
			h.fail(w, r, "message", &page{Title: "Account"}, err)
			return
		}
		var d *accountData
		if pr.Field == "otp" {
			// The same secret stays on screen: only the code was wrong.
			p.Errors = map[string]string{"tfa_code": pr.Msg}
			if _, url, ok := otpauthOf(m.p.User.Email, secret); ok {
				if s, err := newTFASetup(secret, url); err == nil {
					d = &accountData{Setup: s}
				}
			}
		} else {
			p.Alert = pr.Msg
		}
		h.showAccountWith(w, r, pr.Status, p, d)
		return
	}
	if m.p.TwoFactorSetupRequired {
		// The session's principal was read before: let the next page see
		// the second factor.
		m.p.TwoFactorSetupRequired = false
	}
	h.showAccountWith(w, r, http.StatusOK, &page{Flash: &flash{Status: []string{
		"Two-factor sign-in is on. Keep the recovery codes below somewhere safe: each signs in once when your phone is lost, and they are shown only now."}}},
		&accountData{Codes: codes})
}

// otpauthOf rebuilds the otpauth:// URL of a secret for its QR code.
func otpauthOf(email, secret string) (string, string, bool) {
	if secret == "" || len(secret) > 128 {
		return "", "", false
	}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + email,
		RawQuery: url.Values{"secret": {secret}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}.Encode()}
	return secret, u.String(), true
}

// tfaDisable turns two-factor sign-in off, given a code.
func (h *handler) tfaDisable(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	m := memberFrom(r.Context())
	if err := h.m.DisableTwoFactor(r.Context(), m.p.User.ID, r.PostForm.Get("tfa_off_code")); err != nil {
		h.accountFail(w, r, &page{}, renameField(err, "otp", "tfa_off_code"), "tfa_off_code")
		return
	}
	h.accountDone(w, r, "Two-factor sign-in is off. Your recovery codes no longer work.")
}

// tfaRecovery replaces the recovery codes, given a code, and shows the new
// ones once.
func (h *handler) tfaRecovery(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	m := memberFrom(r.Context())
	codes, err := h.m.RegenerateRecoveryCodes(r.Context(), m.p.User.ID, r.PostForm.Get("tfa_new_code"))
	if err != nil {
		h.accountFail(w, r, &page{}, renameField(err, "otp", "tfa_new_code"), "tfa_new_code")
		return
	}
	h.showAccountWith(w, r, http.StatusOK, &page{Flash: &flash{Status: []string{
		"New recovery codes are below; the earlier ones no longer work. They are shown only now."}}}, &accountData{Codes: codes})
}

// renameField moves a validation error of field from onto the form field
// to, so that it shows next to the right input.
func renameField(err error, from, to string) error {
	var ve *users.ValidationError
	if errors.As(err, &ve) && ve.Field == from {
		c := *ve
		c.Field = to
		return &c
	}
	return err
}
