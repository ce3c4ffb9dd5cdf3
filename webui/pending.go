package webui

import (
	"net/http"

	"github.com/gousers/users"
)

// countUsers counts the users q selects (-1: not counted).
func (h *handler) countUsers(r *http.Request, q users.UserQuery) (int, error) { return -1, nil }

// resend sends an unverified or invited user's mail again.
func (h *handler) resend(w http.ResponseWriter, r *http.Request) { h.notFound(w, r) }

// resetWith resets a password with a reset token.
func (h *handler) resetWith(r *http.Request, token, password string) error {
	return users.ErrInvalidToken
}
