package webui

import (
	"errors"
	"net/http"

	"github.com/gousers/users"
)

// Two-factor sign-in in the console: the user page shows whether a user
// has a second factor and lets an administrator remove it. Setting one up
// is the user's own business (the account page).

// removeTwoFactor removes a user's second factor and recovery codes (the
// user lost them); the user signs in with the password alone until it
// sets up a new one.
func (h *handler) removeTwoFactor(w http.ResponseWriter, r *http.Request) {
	u, err := h.m.User(r.Context(), r.PathValue("id"))
	if err == nil {
		err = h.m.RemoveTwoFactor(r.Context(), u.ID)
	}
	switch {
	case errors.Is(err, users.ErrUserNotFound):
		h.notFound(w, r)
		return
	case err != nil:
		h.fail(w, r, "message", &page{Title: "User"}, err)
		return
	}
	h.redirect(w, r, h.userURL(r), &flash{Status: []string{"Removed the two-factor sign-in of " + display(u) + "."}})
}
