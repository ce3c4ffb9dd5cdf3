package httpapi

import (
	"net/http"

	"github.com/gousers/users"
)

// listRoles: GET /roles → 200 {"data": [role…]}.
func (h *handler) listRoles(w http.ResponseWriter, r *http.Request) {
	rs, err := h.m.ListRoles(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if rs == nil {
		rs = []*users.Role{}
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: rs})
}

// createRole: POST /roles {id?, name, description?, admin_access?, enforce_tfa?} → 200
// {"data": role}.
func (h *handler) createRole(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		role users.Role
		errs [6]error
	)
	errs[0] = p.only("id", "name", "description", "admin_access", "enforce_tfa")
	role.ID, _, errs[1] = p.str("id")
	role.Name, _, errs[2] = p.str("name")
	role.Description, _, errs[3] = p.str("description")
	role.AdminAccess, _, errs[4] = p.boolean("admin_access")
	role.EnforceTFA, _, errs[5] = p.boolean("enforce_tfa")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := h.m.CreateRole(r.Context(), role)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: out})
}
