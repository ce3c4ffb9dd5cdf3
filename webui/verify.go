package webui

import (
	"net/http"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

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
