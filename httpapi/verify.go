package httpapi

import (
	"net/http"
)

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
