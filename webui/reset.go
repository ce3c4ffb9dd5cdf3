package webui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

// resetRoutes serves the password reset: asking for a link (Forgot
// Password) and the page behind it.
func (h *handler) resetRoutes(handle func(string, http.HandlerFunc)) {
	handle("GET /forgot-password", h.forgotPage)
	handle("POST /forgot-password", h.forgot)
	handle("GET /forgot-password/done", h.done("Check Your Mail"))
	handle("GET /reset-password", h.acceptPage(resetPassword))
	handle("POST /reset-password", h.accept(resetPassword))
	handle("GET /reset-password/done", h.done("Password Changed"))
}

// resetSent is the one answer to every well-formed request, whether or not
// the address has an account.
const resetSent = "If an active account has this address, a mail with a link to choose a new password is on its way to it. The link works for one hour."

func (h *handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "forgot", &page{Title: "Forgot Password"})
}

func (h *handler) forgot(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if err := h.m.RequestPasswordReset(r.Context(), email, ""); err != nil {
		p := &page{Title: "Forgot Password", Values: map[string]string{"email": email}}
		h.fail(w, r, "forgot", p, err, "email")
		return
	}
	h.redirect(w, r, h.p+"/forgot-password/done", &flash{Status: []string{resetSent}})
}

// resetWith resets a password with a reset token.
func (h *handler) resetWith(r *http.Request, token, password string) (*users.User, error) {
	return h.m.ResetPassword(r.Context(), token, password)
}

// countUsers counts the users q selects.
func (h *handler) countUsers(r *http.Request, q store.UserQuery) (int, error) {
	return h.m.CountUsers(r.Context(), q)
}

// resend sends an unverified user's verification mail, or an invited
// user's invitation, again; the earlier links stop working.
func (h *handler) resend(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, err := h.m.User(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, "message", &page{Title: "User"}, err)
		return
	}
	var msg string
	switch {
	case u.Email == "":
		msg = "This user has no email address."
	case u.Status == users.StatusUnverified:
		// The administrators' call: whatever the registration settings,
		// within their own mail allowance, and an error when over it.
		err = h.m.ResendVerificationFor(ctx, u.ID)
		switch {
		case err == nil:
			msg = "Sent the verification mail to " + u.Email + " again."
		case errors.Is(err, users.ErrRateLimited):
			h.redirect(w, r, h.userURL(r), &flash{Alert: []string{"No mail was sent: too many mails went to " + u.Email +
				" lately. Try again later; the link sent last still works."}})
			return
		}
	case u.Status == users.StatusInvited && u.Role != nil:
		var res []users.InviteResult
		if res, err = h.m.Invite(ctx, users.InviteInput{Emails: []string{u.Email}, Role: *u.Role}); err == nil && len(res) == 1 {
			msg = inviteLine(res[0])
		}
	case u.Status == users.StatusInvited:
		msg = "Give this user a role first: an invitation is to a role."
	default:
		msg = "This user has nothing to resend: it is " + string(u.Status) + "."
	}
	if err != nil {
		h.fail(w, r, "message", &page{Title: display(u)}, err)
		return
	}
	h.redirect(w, r, h.userURL(r), &flash{Status: []string{msg}})
}
