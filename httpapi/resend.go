package httpapi

import (
	"net/http"
)

// resendVerification: POST /users/register/resend {email,
// verification_url?} → 204 on every path that passes validation, whether
// or not the address has an account waiting for verification (an
// extension: Directus has no such route). As for register, registration
// being off is checked before the body is read.
func (h *handler) resendVerification(w http.ResponseWriter, r *http.Request) {
	if err := h.registrationOpen(r.Context()); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		email, verifyURL string
		hasEmail         bool
		errs             [3]error
	)
	errs[0] = p.only("email", "verification_url")
	email, hasEmail, errs[1] = p.email("email")
	verifyURL, _, errs[2] = p.str("verification_url")
	err = firstErr(errs[:]...)
	if err == nil {
		// The words of POST /users/register.
		err = firstErr(emailShape(email, hasEmail), uriShape("verification_url", verifyURL))
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.m.ResendVerification(r.Context(), email, verifyURL); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}
