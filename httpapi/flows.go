package httpapi

import (
	"net/http"
	"strings"

	"github.com/gousers/users"
)

// This file holds the public routes: register, verify-email, accept-invite,
// and invite, whose flow belongs with them. Login and the other session
// routes are in session.go.

// register: POST /users/register → 204 on every path that passes
// validation, whether or not the email exists.
//
// Registration being off is checked before the body is read, so that it
// answers 403 whatever the body holds: whether registration is open comes
// before any check of the input. Only a hashing queue too full to take the
// call comes earlier (503), so that a flood is shed without store work.
func (h *handler) register(w http.ResponseWriter, r *http.Request) {
	// Under a flood of password work, shed at once: before the settings
	// are read or the body decoded (the answer depends on the load only).
	if err := h.m.HashBusy(); err != nil {
		h.writeError(w, r, err)
		return
	}
	s, err := h.m.Settings(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !s.PublicRegistration {
		h.writeError(w, r, users.ErrRegistrationDisabled)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var in users.RegisterInput
	var errs [6]error
	errs[0] = p.only("email", "password", "first_name", "last_name", "verification_url")
	in.Email, _, errs[1] = p.email("email")
	in.Password, _, errs[2] = p.str("password")
	in.FirstName, _, errs[3] = p.str("first_name")
	in.LastName, _, errs[4] = p.str("last_name")
	in.VerificationURL, _, errs[5] = p.str("verification_url")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.m.Register(r.Context(), in); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}

// verifyEmail: GET /users/register/verify-email?token= → 204, or 302 to the
// WithVerifyRedirect URL.
func (h *handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	toks := q["token"]
	switch {
	case len(toks) == 0 || toks[0] == "":
		h.writeError(w, r, invalid("token", "is required"))
		return
	case len(toks) > 1:
		h.writeError(w, r, invalid("token", "must be given once"))
		return
	}
	if _, err := h.m.VerifyEmail(r.Context(), toks[0]); err != nil {
		h.writeError(w, r, err)
		return
	}
	if h.cfg.verifyRedirect != "" {
		w.Header().Set("Location", h.cfg.verifyRedirect)
		w.WriteHeader(http.StatusFound)
		return
	}
	noContent(w)
}

// invite (admin): POST /users/invite {email: string | [string], role,
// invite_url?} → 204.
func (h *handler) invite(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var in users.InviteInput
	var errs [4]error
	errs[0] = p.only("email", "role", "invite_url")
	in.Emails, _, errs[1] = p.strOrList("email")
	in.Role, _, errs[2] = p.str("role")
	in.InviteURL, _, errs[3] = p.str("invite_url")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, e := range in.Emails {
		if err := noControl("email", strings.TrimSpace(e)); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	results, err := h.m.Invite(r.Context(), in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// An address over the mail limit was invited (or re-invited) but not
	// mailed. When that is every address, the caller learns it (429, with
	// when to retry); when only some are held, Directus's 204 stands and
	// the log says how many (never which: they are email addresses).
	// Accounts an invitation took over (never verified, perhaps registered
	// by someone else) are counted in the log too.
	var (
		held      []error
		converted int
	)
	for _, res := range results {
		if res.Err != nil {
			held = append(held, res.Err)
		}
		if res.Outcome == users.InviteConverted {
			converted++
		}
	}
	if converted > 0 {
		h.cfg.log.InfoContext(r.Context(), "httpapi: invitations took over accounts that were never verified",
			"converted", converted, "addresses", len(results))
	}
	switch {
	case len(held) > 0 && len(held) == len(results):
		h.writeError(w, r, held[0])
		return
	case len(held) > 0:
		h.cfg.log.WarnContext(r.Context(), "httpapi: invite mails held back by the mail limit",
			"held", len(held), "addresses", len(results))
	}
	noContent(w)
}

// acceptInvite: POST /users/invite/accept {token, password} → 204.
func (h *handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	token, password, err := h.decodeTokenPassword(w, r)
	if err == nil {
		_, err = h.m.AcceptInvite(r.Context(), token, password)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}

// decodeTokenPassword reads the body {token, password} of the routes that
// spend a mailed token on a new password (accepting an invitation,
// resetting a password): two strings and nothing else, the token
// required. The password is the Manager's to judge.
func (h *handler) decodeTokenPassword(w http.ResponseWriter, r *http.Request) (token, password string, err error) {
	p, err := h.decode(w, r)
	if err != nil {
		return "", "", err
	}
	var errs [3]error
	errs[0] = p.only("token", "password")
	token, _, errs[1] = p.str("token")
	password, _, errs[2] = p.str("password")
	if err := firstErr(errs[:]...); err != nil {
		return "", "", err
	}
	if token == "" {
		return "", "", invalid("token", "is required")
	}
	return token, password, nil
}
