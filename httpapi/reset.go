package httpapi

import (
	"errors"
	"net/http"

	"github.com/gousers/users"
)

// passwordRequest: POST /auth/password/request {email, reset_url?} → 204
// whether or not the address has an account. Only input errors (a
// malformed email, a reset_url not on the allow-list) are answered, 400,
// and a client IP over its request limit (users.Limits.ResetRequestIP),
// 429 whatever the address; anything else is logged and answered 204, as
// Directus does, so that no answer depends on the address.
func (h *handler) passwordRequest(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		email, resetURL string
		hasEmail        bool
		errs            [3]error
	)
	errs[0] = p.only("email", "reset_url")
	email, hasEmail, errs[1] = p.email("email")
	resetURL, _, errs[2] = p.str("reset_url")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	// Directus's request schema, in its words.
	if err := emailShape(email, hasEmail); err != nil {
		h.writeError(w, r, err)
		return
	}
	err = h.m.RequestPasswordReset(r.Context(), email, resetURL)
	switch {
	case err == nil:
	case errors.Is(err, users.ErrInvalidPayload), errors.Is(err, users.ErrRateLimited):
		h.writeError(w, r, err)
		return
	default:
		if r.Context().Err() == nil {
			h.cfg.log.ErrorContext(r.Context(), "httpapi: password reset request failed",
				"client_ip", ClientIP(r, h.cfg.trusted).String(), "error", err.Error())
		}
	}
	noContent(w)
}

// passwordReset: POST /auth/password/reset {token, password} → 204.
func (h *handler) passwordReset(w http.ResponseWriter, r *http.Request) {
	token, password, err := h.decodeTokenPassword(w, r)
	if err == nil {
		_, err = h.m.ResetPassword(r.Context(), token, password)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}
