package httpapi

import (
	"context"
	"net/http"

	"github.com/gousers/users"
)

// register: POST /users/register → 204 on every path that passes
// validation, whether or not the email exists.
//
// Registration being off is checked before the body is read, so that it
// answers 403 whatever the body holds: whether registration is open comes
// before any check of the input. Only a hashing queue too full to take the
// call comes earlier (503), so that a flood is shed without store work.
func (h *handler) register(w http.ResponseWriter, r *http.Request) {
	// Under a flood of password work, shed at once: before the settings
	// are read or the body decoded (the answer depends on the load only).
	if err := h.m.HashBusy(); err != nil {
		h.writeError(w, r, err)
		return
	}
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
		in                users.RegisterInput
		hasEmail, hasPass bool
		errs              [6]error
	)
	errs[0] = p.only("email", "password", "first_name", "last_name", "verification_url")
	in.Email, hasEmail, errs[1] = p.email("email")
	in.Password, hasPass, errs[2] = p.str("password")
	in.FirstName, _, errs[3] = p.str("first_name")
	in.LastName, _, errs[4] = p.str("last_name")
	in.VerificationURL, _, errs[5] = p.str("verification_url")
	err = firstErr(errs[:]...)
	if err == nil {
		// Directus's request schema, in its order and words; the
		// Manager's own checks follow.
		err = firstErr(emailShape(in.Email, hasEmail), requiredShape("password", in.Password, hasPass),
			uriShape("verification_url", in.VerificationURL))
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.m.Register(r.Context(), in); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}

// registrationOpen is nil when public registration is on, and otherwise
// ErrRegistrationDisabled, or the error of reading the settings. register
// and resendVerification ask it before they read the body.
func (h *handler) registrationOpen(ctx context.Context) error {
	s, err := h.m.Settings(ctx)
	if err != nil {
		return err
	}
	if !s.PublicRegistration {
		return users.ErrRegistrationDisabled
	}
	return nil
}
