package webui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

// policyHint describes the password policy in force, as a password
// field's hint: its description (the settings', else the preset's), never
// the regular expression. "" when there is no policy.
func (h *handler) policyHint(r *http.Request) string {
	s, err := h.m.Settings(r.Context())
	if err != nil || s.PasswordPolicy == nil {
		return ""
	}
	d := s.PasswordPolicyDescription
	if d == "" {
		d = s.PasswordPolicy.Description()
	}
	if d == "" {
		return "The password must meet the password policy."
	}
	return "The password must have " + strings.TrimSuffix(d, ".") + "."
}

// tokenPage is what the pages behind mailed links show.
type tokenData struct {
	Token  string
	Email  string // the address the link was mailed to
	Action string // the submit button's text
	Policy string // the password policy, worded
	Bad    string // why the link is no good ("" when it is)
	Next   string // what to do then
	// NextURL and NextText make a link for what to do then, if any.
	NextURL, NextText string
}

// tokenFlow is a page behind a mailed link that sets a password.
type tokenFlow struct {
	name, title, button string
	purpose             store.Purpose
	done                string
	doneApp             string // done, to someone who may not use the console
	badNext             string
	// usedNext, when set, replaces badNext for a link already used: the
	// account it set up is ready, so asking for a new link is no help.
	usedNext string
}

var (
	acceptInvite = tokenFlow{name: "accept-invite", title: "Accept Invite", button: "Accept Invite", purpose: store.PurposeInvite,
		done:     "Your account is ready. You can sign in now.",
		doneApp:  "Your account is ready. You can now sign in to the application with your address and this password.",
		badNext:  "Ask the administrator who invited you to send a new invitation.",
		usedNext: usedAccountNext}
	setPassword = tokenFlow{name: "set-password", title: "Set Password", button: "Set Password", purpose: store.PurposeInvite,
		done:     "Your password is set. You can sign in now.",
		doneApp:  "Your password is set. You can now sign in to the application with it.",
		badNext:  "Register again with the same address to get a new link, or ask an administrator.",
		usedNext: usedAccountNext}
	resetPassword = tokenFlow{name: "reset-password", title: "Reset Password", button: "Reset Password", purpose: store.PurposePasswordReset,
		done:    "Your password is changed. You can sign in with it now.",
		doneApp: "Your password is changed. You can now sign in to the application with it.",
		badNext: "Ask for a new link on the Forgot Password page."}
)

// usedAccountNext is what to do with a used link that set up an account.
const usedAccountNext = "Your account is set up with the password chosen then: sign in with it. If you no longer know it, choose a new one on the Forgot Password page."

// badLink fills d with why a link is no good (pr, from err) and what to do
// next.
func (h *handler) badLink(fl tokenFlow, err error, pr problem, d *tokenData) {
	d.Bad, d.Next = pr.Msg, fl.badNext
	if fl.usedNext != "" && errors.Is(err, users.ErrTokenUsed) {
		d.Next, d.NextURL, d.NextText = fl.usedNext, h.p+"/forgot-password", "Forgot Password"
	}
}

// acceptPage shows a set-password form for a live token, or explains why
// the link is no good. It changes nothing.
func (h *handler) acceptPage(fl tokenFlow) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		d := &tokenData{Token: token, Action: fl.button, Policy: h.policyHint(r)}
		u, err := h.m.TokenUser(r.Context(), token, fl.purpose)
		status := http.StatusOK
		if err != nil {
			pr := explain(err)
			if pr.Internal {
				h.fail(w, r, "message", &page{Title: fl.title}, err)
				return
			}
			h.badLink(fl, err, pr, d)
			status = pr.Status
		} else {
			d.Email = u.Email
		}
		h.render(w, r, status, "password", &page{Title: fl.title, Data: d})
	}
}

// accept sets the password of a live token's user: AcceptInvite for invite
// and set-password links (ResetPassword for reset links: see reset.go).
func (h *handler) accept(fl tokenFlow) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r) {
			return
		}
		f := r.PostForm
		token, pw := f.Get("token"), f.Get("password")
		d := &tokenData{Token: token, Action: fl.button, Policy: h.policyHint(r)}
		p := &page{Title: fl.title, Data: d}
		if u, err := h.m.TokenUser(r.Context(), token, fl.purpose); err == nil {
			d.Email = u.Email
		}
		if pw != f.Get("confirm_password") {
			p.Errors = map[string]string{"confirm_password": "The two passwords differ. Type the same password in both fields."}
			h.render(w, r, http.StatusUnprocessableEntity, "password", p)
			return
		}
		var (
			u   *users.User
			err error
		)
		if fl.purpose == store.PurposePasswordReset {
			u, err = h.resetWith(r, token, pw)
		} else {
			u, err = h.m.AcceptInvite(r.Context(), token, pw)
		}
		if err != nil {
			pr := explain(err)
			switch {
			case pr.Internal:
				h.fail(w, r, "message", &page{Title: fl.title}, err)
			case pr.Field == "token":
				h.badLink(fl, err, pr, d)
				h.render(w, r, pr.Status, "password", p)
			case pr.Field == "password":
				p.Errors = map[string]string{"password": pr.Msg}
				h.render(w, r, pr.Status, "password", p)
			default:
				p.Alert = pr.Msg
				h.render(w, r, pr.Status, "password", p)
			}
			return
		}
		h.redirect(w, r, h.p+"/"+fl.name+"/done", h.doneFlash(r, u, fl.done, fl.doneApp))
	}
}

// doneFlash is the outcome of a public flow that left u able to sign in:
// msg for an administrator, who goes on to the console's sign-in;
// appMsg, and no console sign-in, for anyone else, whom the console
// would refuse.
func (h *handler) doneFlash(r *http.Request, u *users.User, msg, appMsg string) *flash {
	if u == nil {
		return &flash{Status: []string{msg}}
	}
	admin, err := h.m.HasAdminAccess(r.Context(), u.ID)
	if err != nil {
		h.cfg.log.ErrorContext(r.Context(), "webui: reading admin access", "error", err)
	}
	if admin || err != nil {
		return &flash{Status: []string{msg}}
	}
	return &flash{Status: []string{appMsg}, NoConsole: true}
}

// done is the page a finished public flow redirects to.
func (h *handler) done(title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := h.takeFlash(w, r)
		d := messageData{NextURL: h.signInURL(), NextText: "Sign In"}
		if f == nil {
			f = &flash{}
		} else if f.NoConsole && h.cfg.authorize == nil {
			d.NextURL, d.NextText = "", ""
		}
		h.render(w, r, http.StatusOK, "message", &page{Title: title, Flash: f, Data: d})
	}
}

// signInURL is where "Sign In" links lead: the built-in sign-in page, or
// the application's home when the host app has its own login.
func (h *handler) signInURL() string {
	if h.cfg.authorize != nil {
		return "/"
	}
	return h.p + "/login"
}

// verifyPage shows the "Verify Email" button for a live token, or explains
// why the link is no good. It consumes nothing: only the POST does.
func (h *handler) verifyPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	d := &tokenData{Token: token, Action: "Verify Email"}
	status := http.StatusOK
	u, err := h.m.TokenUser(r.Context(), token, store.PurposeVerifyEmail)
	if err != nil {
		pr := explain(err)
		if pr.Internal {
			h.fail(w, r, "message", &page{Title: "Verify Email"}, err)
			return
		}
		d.Bad, d.Next, status = pr.Msg, verifyBadNext, pr.Status
	} else {
		d.Email = u.Email
	}
	h.render(w, r, status, "verify", &page{Title: "Verify Email", Data: d})
}

const verifyBadNext = "If your address is not verified yet, register again with the same address and password to get a new link; if it is, sign in."

func (h *handler) verify(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	token := r.PostForm.Get("token")
	u, err := h.m.VerifyEmail(r.Context(), token)
	if err != nil {
		pr := explain(err)
		if pr.Internal {
			h.fail(w, r, "message", &page{Title: "Verify Email"}, err)
			return
		}
		d := &tokenData{Token: token, Action: "Verify Email", Bad: pr.Msg, Next: verifyBadNext}
		h.render(w, r, pr.Status, "verify", &page{Title: "Verify Email", Data: d})
		return
	}
	f := h.doneFlash(r, u, "Your email address is verified. You can sign in now.",
		"Your email address is verified. You can now sign in to the application.")
	if u.Status == users.StatusInvited {
		// A contested registration: the owner of the address chooses the
		// password from the mail just sent.
		f = &flash{Status: []string{"Your email address is verified. We sent you a mail with a link to choose your password: open it to finish."}, NoConsole: true}
	}
	h.redirect(w, r, h.p+"/verify-email/done", f)
}

// registerSent is the one answer to every registration that passed the
// checks that do not depend on the address, whether or not a user has it.
const registerSent = "Thank you. If this address can be registered, a mail is on its way to it: follow its link to finish. If it is already registered, sign in instead."

func (h *handler) registerPage(w http.ResponseWriter, r *http.Request) {
	s, err := h.m.Settings(r.Context())
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Register"}, err)
		return
	}
	if !s.PublicRegistration {
		h.render(w, r, http.StatusNotFound, "message", &page{Title: "Register",
			Data: messageData{Alert: "Registration is closed.", Next: "Ask an administrator for an invitation."}})
		return
	}
	h.render(w, r, http.StatusOK, "register", &page{Title: "Register", Data: &tokenData{Policy: h.policyHint(r)}})
}

func (h *handler) register(w http.ResponseWriter, r *http.Request) {
	if l := h.cfg.register; l != nil {
		if retry, err := l.Allow(r.Context(), h.clientIP(r)); err != nil {
			p := &page{Title: "Register", Data: &tokenData{Policy: h.policyHint(r)}}
			if retry > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
			}
			h.fail(w, r, "register", p, err)
			return
		}
	}
	if !parseForm(w, r) {
		return
	}
	f := r.PostForm
	in := users.RegisterInput{Email: strings.TrimSpace(f.Get("email")), Password: f.Get("password"),
		FirstName: f.Get("first_name"), LastName: f.Get("last_name")}
	err := h.m.Register(r.Context(), in)
	if err != nil {
		p := &page{Title: "Register", Data: &tokenData{Policy: h.policyHint(r)},
			Values: map[string]string{"email": in.Email, "first_name": in.FirstName, "last_name": in.LastName}}
		if errors.Is(err, users.ErrRegistrationDisabled) {
			h.render(w, r, http.StatusNotFound, "message", &page{Title: "Register",
				Data: messageData{Alert: "Registration is closed.", Next: "Ask an administrator for an invitation."}})
			return
		}
		h.failWith(w, r, "register", p, err, explain(err), "email", "password", "first_name", "last_name")
		return
	}
	// Registration never gives admin access: no console sign-in after it.
	h.redirect(w, r, h.p+"/register/done", &flash{Status: []string{registerSent}, NoConsole: true})
}

// failWith is fail with an explanation already made (and amended).
func (h *handler) failWith(w http.ResponseWriter, r *http.Request, name string, p *page, err error, pr problem, fields ...string) {
	if pr.Internal {
		h.fail(w, r, name, p, err, fields...)
		return
	}
	for _, f := range fields {
		if f == pr.Field {
			p.Errors = map[string]string{f: pr.Msg}
		}
	}
	if p.Errors == nil {
		p.Alert = pr.Msg
	}
	h.render(w, r, pr.Status, name, p)
}
