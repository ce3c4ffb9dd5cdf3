package httpapi

import (
	"net/http"

	"github.com/gousers/users"
)

// getSettings: GET /settings → 200 {"data": settings}.
func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) {
	s, err := h.m.Settings(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: s})
}

// updateSettings: PATCH /settings → 200 {"data": settings}. Only the fields
// given change; null clears the role, the filter and the password policy.
func (h *handler) updateSettings(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := p.only("public_registration", "public_registration_verify_email",
		"public_registration_role", "public_registration_email_filter", "auth_password_policy",
		"auth_password_policy_description", "project_name"); err != nil {
		h.writeError(w, r, err)
		return
	}
	s, err := h.m.Settings(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := applySettings(p, &s); err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := h.m.UpdateSettings(r.Context(), s)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: out})
}

// applySettings sets on s the fields p gives.
func applySettings(p *payload, s *users.Settings) error {
	if b, ok, err := p.boolean("public_registration"); err != nil {
		return err
	} else if ok {
		s.PublicRegistration = b
	}
	if b, ok, err := p.boolean("public_registration_verify_email"); err != nil {
		return err
	} else if ok {
		s.PublicRegistrationVerifyEmail = b
	}
	if role, ok, err := p.nullableStr("public_registration_role"); err != nil {
		return err
	} else if ok {
		s.PublicRegistrationRole = role
	}
	if raw, ok := p.vals["public_registration_email_filter"]; ok {
		s.PublicRegistrationEmailFilter = nil
		if kind(raw) != 'n' {
			f, err := users.ParseEmailFilter(raw)
			if err != nil {
				return err
			}
			s.PublicRegistrationEmailFilter = f
		}
	}
	if name, ok, err := p.nullableStr("project_name"); err != nil {
		return err
	} else if ok {
		s.ProjectName = ""
		if name != nil {
			s.ProjectName = *name
		}
	}
	if src, ok, err := p.nullableStr("auth_password_policy"); err != nil {
		return err
	} else if ok {
		s.PasswordPolicy = nil
		if src != nil {
			pp, err := users.ParsePasswordPolicy(*src)
			if err != nil {
				return err
			}
			s.PasswordPolicy = pp
		}
		// A description describes one policy: a new policy without one
		// has none (the presets are described by the library).
		s.PasswordPolicyDescription = ""
	}
	if d, ok, err := p.nullableStr("auth_password_policy_description"); err != nil {
		return err
	} else if ok {
		s.PasswordPolicyDescription = ""
		if d != nil {
			s.PasswordPolicyDescription = *d
		}
	}
	return nil
}
