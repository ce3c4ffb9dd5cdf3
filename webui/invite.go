package webui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

// This file holds the pages behind invitation and set-password links (the
// reset link's page is the same, with its own tokenFlow in reset.go) and
// the wording of an invitation's outcome. Inviting is the "Invite Users"
// panel of a role page: inviteToRole, in admin_roles.go.

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

// acceptInvite and setPassword are the pages behind an invitation link and
// a contested registration's set-password link: both accept with
// AcceptInvite.
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
			default:
				place(p, pr, "password")
				h.render(w, r, pr.Status, "password", p)
			}
			return
		}
		h.redirect(w, r, h.p+"/"+fl.name+"/done", h.doneFlash(r, u, fl.done, fl.doneApp))
	}
}

// inviteLine words one address's invitation outcome.
func inviteLine(res users.InviteResult) string {
	var what string
	switch res.Outcome {
	case users.InviteCreated:
		what = "invited"
	case users.InviteResent:
		what = "invite re-sent"
	case users.InviteSkipped:
		what = "has a draft, suspended or archived account, nothing sent"
	case users.InviteAlreadyActive:
		what = "has an active account already, nothing sent"
	case "converted":
		what = "invited (the unverified account with this address now waits for the invitation)"
	default:
		what = strings.ReplaceAll(string(res.Outcome), "_", " ")
	}
	if res.Err != nil {
		if errors.Is(res.Err, users.ErrRateLimited) {
			what += ", but no mail was sent: too many mails went to this address lately; try again later"
		} else {
			what += ", but no mail was sent: " + explain(res.Err).Msg
		}
	}
	return res.Email + ": " + what + "."
}
