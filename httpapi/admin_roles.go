package httpapi

import (
	"net/http"
	"slices"

	"github.com/gousers/users"
)

// listRoles: GET /roles → 200 {"data": [role…], "meta"?: {…}}, with the
// query parameters of GET /users (see parseListQuery) over the roles'
// fields: id, name, description, admin_access (filter and search take the
// text fields; see users.RoleQuery).
func (h *handler) listRoles(w http.ResponseWriter, r *http.Request) {
	rq, err := parseRoleQuery(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	data := []any{}
	if rq.none {
		// Nothing to list, but the query is judged all the same.
		if _, err := h.m.CountRoles(ctx, rq.q); err != nil {
			h.writeError(w, r, err)
			return
		}
	} else {
		rs, err := h.m.FindRoles(ctx, rq.q)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		data = make([]any, len(rs))
		for i, role := range rs {
			data[i] = selectRoleFields(role, rq.fields)
		}
	}
	body := orderedObject{{"data", data}}
	if len(rq.meta) > 0 {
		meta := orderedObject{}
		for _, name := range rq.meta {
			q := rq.q // filter_count: the filter and the search
			if name == "total_count" {
				q = users.RoleQuery{}
			}
			n, err := h.m.CountRoles(ctx, q)
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			meta = append(meta, orderedField{name, n})
		}
		body = append(body, orderedField{"meta", meta})
	}
	h.writeJSON(w, http.StatusOK, body)
}

// selectRoleFields returns the role with only the given fields, in the
// wire order; nil fields is the whole role.
func selectRoleFields(role *users.Role, fields []string) any {
	if fields == nil {
		return role
	}
	out := make(orderedObject, 0, len(fields))
	for _, f := range roleFields {
		if !slices.Contains(fields, f) {
			continue
		}
		var val any
		switch f {
		case "id":
			val = role.ID
		case "name":
			val = role.Name
		case "description":
			val = role.Description
		case "admin_access":
			val = role.AdminAccess
		}
		out = append(out, orderedField{f, val})
	}
	return out
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
