package webui

import (
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

// resetPassword is the page behind a password reset link.
var resetPassword = tokenFlow{name: "reset-password", title: "Reset Password", button: "Reset Password", purpose: store.PurposePasswordReset,
	done:    "Your password is changed. You can sign in with it now.",
	doneApp: "Your password is changed. You can now sign in to the application with it.",
	badNext: "Ask for a new link on the Forgot Password page."}

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
	if err := h.m.RequestPasswordReset(h.anonymous(r), email, ""); err != nil {
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
