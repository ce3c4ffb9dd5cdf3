package httpapi

import (
	"net/http"

	"github.com/gousers/users"
)

// Two-factor sign-in, on Directus's routes and answers (see the package
// doc); the users package doc's "Two-factor sign-in" says what is stricter.

// tfaRoutes registers the two-factor routes.
func (h *handler) tfaRoutes() {
	h.mux.HandleFunc("POST /users/me/tfa/generate", h.tfaGenerate)
	h.mux.HandleFunc("POST /users/me/tfa/enable", h.tfaEnable)
	h.mux.HandleFunc("POST /users/me/tfa/disable", h.tfaDisable)
	h.mux.HandleFunc("POST /users/{id}/tfa/disable", h.admin(h.tfaRemove))
}

// setupPatterns are the routes a user who must set up a second factor
// first (users.Principal.TwoFactorSetupRequired) may still use with its
// access token; every other route that takes one answers 403 FORBIDDEN.
// Refreshing and logging out take no access token and stay open.
var setupPatterns = map[string]bool{
	"GET /users/me":               true,
	"POST /users/me/tfa/generate": true,
	"POST /users/me/tfa/enable":   true,
}

// tfaGenerate: POST /users/me/tfa/generate {password} → 200 {"data":
// {"secret", "otpauth_url"}}. A wrong password is 401
// INVALID_CREDENTIALS; a user who has a second factor already, 400.
func (h *handler) tfaGenerate(w http.ResponseWriter, r *http.Request) {
	pr, err := h.principal(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var errs [2]error
	errs[0] = p.only("password")
	password, _, err1 := p.str("password")
	errs[1] = err1
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	secret, url, err := h.m.GenerateTwoFactorSecret(r.Context(), pr.User.ID, password)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
	}{secret, url}})
}

// tfaEnable: POST /users/me/tfa/enable {secret, otp} → 204. The secret
// must be the one generate answered to this user, within 10 minutes.
// The recovery codes are not in the answer (Directus's is empty): an
// application that wants them calls users.Manager.EnableTwoFactor, as
// the account page does.
func (h *handler) tfaEnable(w http.ResponseWriter, r *http.Request) {
	pr, err := h.principal(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var errs [3]error
	errs[0] = p.only("secret", "otp")
	secret, _, e1 := p.str("secret")
	otp, _, e2 := p.str("otp")
	errs[1], errs[2] = e1, e2
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	if _, err := h.m.EnableTwoFactor(r.Context(), pr.User.ID, secret, otp); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}

// tfaDisable: POST /users/me/tfa/disable {otp} → 204; a TOTP code or a
// recovery code.
func (h *handler) tfaDisable(w http.ResponseWriter, r *http.Request) {
	pr, err := h.principal(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var errs [2]error
	errs[0] = p.only("otp")
	otp, _, e1 := p.str("otp")
	errs[1] = e1
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.m.DisableTwoFactor(r.Context(), pr.User.ID, otp); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}

// tfaRemove: POST /users/{id}/tfa/disable → 204, administrators only
// (403 FORBIDDEN for anyone else, and for an unknown id): the user's
// second factor and recovery codes are removed without a code.
func (h *handler) tfaRemove(w http.ResponseWriter, r *http.Request) {
	if err := h.m.RemoveTwoFactor(r.Context(), r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}

// setupOnly refuses p on a route that a user who must set up a second
// factor first may not use.
func setupOnly(r *http.Request, p *users.Principal) error {
	if p.TwoFactorSetupRequired && !setupPatterns[r.Pattern] {
		return users.ErrTwoFactorRequired
	}
	return nil
}
