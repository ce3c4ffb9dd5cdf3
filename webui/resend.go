package webui

import (
	"errors"
	"net/http"

	"github.com/gousers/users"
)

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
