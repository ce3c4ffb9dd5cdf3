package httpapi

import (
	"net/http"

	"github.com/gousers/users"
)

// signInPath is where GET /users/register/verify-email sends a browser
// whose link holds an empty or repeated token when WithVerifyRedirect is
// not set: Directus's sign-in page, where package webui serves its own.
const signInPath = "/admin/login"

// verifyEmail: GET /users/register/verify-email?token= → 204, or 302 to the
// WithVerifyRedirect URL. As Directus answers: without a token, 403
// INVALID_TOKEN; with an empty or repeated one (a link its request schema
// refuses), 302 to the sign-in page — the WithVerifyRedirect URL, else
// /admin/login — having consumed nothing.
func (h *handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	toks := r.URL.Query()["token"]
	switch {
	case len(toks) == 0:
		h.writeError(w, r, users.ErrInvalidToken)
		return
	case len(toks) > 1 || toks[0] == "":
		to := h.cfg.verifyRedirect
		if to == "" {
			to = signInPath
		}
		w.Header().Set("Location", to)
		w.WriteHeader(http.StatusFound)
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
