package httpapi

import (
	"net/http"
	"strings"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/validate"
)

// me: GET /users/me → 200 {"data": user} for the access token's user,
// with only the fields the fields parameter names, as GET /users/{id}.
func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	p, fields, err := h.principalFields(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: userJSON{p.User, fields}})
}

// updateMe: PATCH /users/me {first_name?, last_name?, email?, password?,
// current_password?} → 200 {"data": user}. A new password needs the
// current one (current_password, an extension) and ends every session of
// the user, this one included. A new email is not set at once: it asks
// for the change (users.Manager.RequestEmailChange), which applies when
// the link mailed to the new address is used, so the answer still shows
// the current address. The answer has only the fields the fields
// parameter names; a bad one is refused before anything changes.
func (h *handler) updateMe(w http.ResponseWriter, r *http.Request) {
	pr, fields, err := h.principalFields(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		patch                             users.UserPatch
		password, current, email          string
		hasPassword, hasCurrent, hasEmail bool
		errs                              [6]error
	)
	errs[0] = p.only("first_name", "last_name", "email", "password", "current_password")
	patch.FirstName, _, errs[1] = p.nullableStr("first_name")
	patch.LastName, _, errs[2] = p.nullableStr("last_name")
	password, hasPassword, errs[3] = p.str("password")
	current, hasCurrent, errs[4] = p.str("current_password")
	email, hasEmail, errs[5] = p.str("email")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	empty := "" // null clears a name
	if _, given := p.vals["first_name"]; given && patch.FirstName == nil {
		patch.FirstName = &empty
	}
	if _, given := p.vals["last_name"]; given && patch.LastName == nil {
		patch.LastName = &empty
	}
	switch {
	case hasPassword && !hasCurrent:
		h.writeError(w, r, invalid("current_password", "is required to change the password"))
		return
	case hasCurrent && !hasPassword:
		h.writeError(w, r, invalid("current_password", "is only taken with password"))
		return
	}
	// The names are judged before the password changes, so that a refused
	// name leaves the password and the sessions as they were.
	for _, n := range []struct {
		field string
		v     *string
	}{{"first_name", patch.FirstName}, {"last_name", patch.LastName}} {
		if n.v == nil {
			continue
		}
		if reason := validate.Name(*n.v); reason != "" {
			h.writeError(w, r, invalid(n.field, reason))
			return
		}
	}
	if hasEmail {
		if reason := validate.Email(strings.TrimSpace(email)); reason != "" {
			h.writeError(w, r, invalid("email", reason))
			return
		}
		if users.NormalizeEmail(email) == users.NormalizeEmail(pr.User.Email) {
			hasEmail = false // the address it has: nothing to ask
		}
	}
	u := pr.User
	if hasPassword {
		if u, err = h.m.ChangePassword(r.Context(), pr.User.ID, current, password); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if patch.FirstName != nil || patch.LastName != nil {
		if u, err = h.m.UpdateUser(r.Context(), pr.User.ID, patch); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if hasEmail {
		if err := h.m.RequestEmailChange(r.Context(), pr.User.ID, email, ""); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: userJSON{u, fields}})
}

// principalFields reads what GET and PATCH /users/me take first: the
// access token's principal, then the fields parameter.
func (h *handler) principalFields(r *http.Request) (*users.Principal, []string, error) {
	p, err := h.principal(r)
	if err != nil {
		return nil, nil, err
	}
	fields, err := fieldsParam(r.URL.Query())
	if err != nil {
		return nil, nil, err
	}
	return p, fields, nil
}
