package webui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
)

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
	err := h.m.Register(h.anonymous(r), in)
	if err != nil {
		p := &page{Title: "Register", Data: &tokenData{Policy: h.policyHint(r)},
			Values: map[string]string{"email": in.Email, "first_name": in.FirstName, "last_name": in.LastName}}
		if errors.Is(err, users.ErrRegistrationDisabled) {
			h.render(w, r, http.StatusNotFound, "message", &page{Title: "Register",
				Data: messageData{Alert: "Registration is closed.", Next: "Ask an administrator for an invitation."}})
			return
		}
		h.fail(w, r, "register", p, err, "email", "password", "first_name", "last_name")
		return
	}
	// Registration never gives admin access: no console sign-in after it.
	h.redirect(w, r, h.p+"/register/done", &flash{Status: []string{registerSent}, NoConsole: true})
}
