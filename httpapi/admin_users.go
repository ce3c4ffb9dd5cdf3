package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gousers/users"
)

// This file holds the admin routes on users: create, get, update, list,
// delete. Each is wrapped by handler.admin, as every admin route (roles,
// settings, invite) is, so the authorizer has answered before any of it
// runs.

// userFields are the fields POST /users and PATCH /users[/{id}] take.
var userFields = []string{"email", "password", "first_name", "last_name", "status", "role", "policies", "metadata"}

// createUser: POST /users → 200 {"data": user}, with only the fields
// the fields parameter names (a bad one is refused before anything changes).
// An array of users creates them all or none (users.Manager.CreateUsers)
// → 200 {"data": [user, …]}, in the order given, as Directus answers.
func (h *handler) createUser(w http.ResponseWriter, r *http.Request) {
	fields, err := fieldsParam(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	b, err := h.readBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if kind(b) == '[' {
		h.createUsers(w, r, fields, b)
		return
	}
	p, err := parseObject(b)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	in, err := readCreateUser(p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.m.CreateUser(r.Context(), in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: userJSON{u, fields}})
}

// createUsers: POST /users with an array of users (see createUser).
func (h *handler) createUsers(w http.ResponseWriter, r *http.Request, fields []string, b []byte) {
	ps, err := parseObjects(b)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if len(ps) > users.MaxCreateUsers {
		h.writeError(w, r, invalidBody(fmt.Sprintf("At most %d users can be created at once", users.MaxCreateUsers)))
		return
	}
	in := make([]users.CreateUserInput, len(ps))
	for i, p := range ps {
		if in[i], err = readCreateUser(p); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	us, err := h.m.CreateUsers(r.Context(), in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, orderedObject{{"data", usersJSON{us, fields}}})
}

// readCreateUser reads one user of POST /users.
func readCreateUser(p *payload) (users.CreateUserInput, error) {
	patch, err := readUserPatch(p)
	if err != nil {
		return users.CreateUserInput{}, err
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	in := users.CreateUserInput{
		Email: deref(patch.Email), Password: deref(patch.Password),
		FirstName: deref(patch.FirstName), LastName: deref(patch.LastName),
		Role: patch.Role, Policies: patch.Policies, Metadata: patch.Metadata,
	}
	if patch.Status != nil {
		in.Status = *patch.Status
	}
	return in, nil
}

// readUser reads what POST /users and PATCH /users/{id} take: the fields
// parameter, checked before the body, and the user fields of the body.
func (h *handler) readUser(w http.ResponseWriter, r *http.Request) (fields []string, patch users.UserPatch, err error) {
	if fields, err = fieldsParam(r.URL.Query()); err != nil {
		return nil, patch, err
	}
	p, err := h.decode(w, r)
	if err != nil {
		return nil, patch, err
	}
	patch, err = readUserPatch(p)
	return fields, patch, err
}

// readUserPatch reads the user fields of p. null clears a nullable field
// (email, password, first_name, last_name, role; metadata becomes {});
// status and policies cannot be null.
func readUserPatch(p *payload) (users.UserPatch, error) {
	var (
		up   users.UserPatch
		errs [9]error
		st   string
		ok   bool
	)
	errs[0] = p.only(userFields...)
	clearable := func(i int, name string, dst **string) {
		v, present, err := p.nullableStr(name)
		if err != nil || !present {
			errs[i] = err
			return
		}
		if v == nil {
			v = new(string)
		}
		*dst = v
	}
	clearable(1, "email", &up.Email)
	clearable(2, "password", &up.Password)
	clearable(3, "first_name", &up.FirstName)
	clearable(4, "last_name", &up.LastName)
	if up.Email != nil {
		*up.Email = strings.TrimSpace(*up.Email)
		errs[1] = noControl("email", *up.Email)
	}
	st, ok, errs[5] = p.str("status")
	if ok && errs[5] == nil {
		s := users.Status(st)
		up.Status = &s
	}
	up.Role, up.SetRole, errs[6] = p.nullableStr("role")
	up.Policies, up.SetPolicies, errs[7] = p.strList("policies")
	up.Metadata, _, errs[8] = p.metadata("metadata")
	return up, firstErr(errs[:]...)
}

// getUser: GET /users/{id} → 200 {"data": user}; an unknown id is 403
// FORBIDDEN, as Directus answers.
func (h *handler) getUser(w http.ResponseWriter, r *http.Request) {
	fields, err := fieldsParam(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.m.User(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: userJSON{u, fields}})
}

// updateUser: PATCH /users/{id} → 200 {"data": user}, with only the fields
// the fields parameter names (a bad one is refused before anything changes).
func (h *handler) updateUser(w http.ResponseWriter, r *http.Request) {
	fields, patch, err := h.readUser(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.m.UpdateUser(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: userJSON{u, fields}})
}

// updateUsers: PATCH /users {keys, data} → 200 {"data": [user…]}, all or
// none. email and password cannot be set in bulk.
func (h *handler) updateUsers(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		keys    []string
		data    *payload
		hasData bool
		errs    [3]error
	)
	errs[0] = p.only("keys", "data")
	keys, _, errs[1] = p.strList("keys")
	data, hasData, errs[2] = p.object("data")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	if !hasData {
		h.writeError(w, r, invalid("data", "is required"))
		return
	}
	patch, err := readUserPatch(data)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.m.UpdateUsers(r.Context(), keys, patch); err != nil {
		h.writeError(w, r, err)
		return
	}
	us, err := h.m.ListUsers(r.Context(), users.UserQuery{IDs: keys})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, orderedObject{{"data", usersJSON{us, nil}}})
}

// listUsers: GET /users → 200 {"data": [user…]}, with "meta" when asked.
// See parseUserQuery for the query parameters.
func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	uq, err := parseUserQuery(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	data := usersJSON{fields: uq.fields}
	if uq.none {
		// Nothing to list, but the query is judged all the same.
		if _, err := h.m.CountUsers(ctx, uq.q); err != nil {
			h.writeError(w, r, err)
			return
		}
	} else if data.us, err = h.m.ListUsers(ctx, uq.q); err != nil {
		h.writeError(w, r, err)
		return
	}
	body := orderedObject{{"data", data}}
	if len(uq.meta) > 0 {
		meta := orderedObject{}
		for _, name := range uq.meta {
			q := uq.q // filter_count: the filter and the search
			if name == "total_count" {
				q = users.UserQuery{}
			}
			n, err := h.m.CountUsers(ctx, q)
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

// deleteUser (admin): DELETE /users/{id} → 204. An unknown id is 403
// FORBIDDEN, as for GET /users/{id}; deleting the last active user with
// admin access is 400 INVALID_PAYLOAD.
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := h.m.DeleteUsers(r.Context(), r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}

// deleteUsers (admin): DELETE /users with an array of ids, or {"keys":
// [ids]}, as Directus takes them → 204. All or none: one unknown id (403
// FORBIDDEN) or the last active administrator among them (400) deletes
// nothing. Directus's {"query": …} form is refused by name.
func (h *handler) deleteUsers(w http.ResponseWriter, r *http.Request) {
	b, err := h.readBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var keys []string
	switch kind(b) {
	case '[':
		if err := checkJSONValue(b); err != nil {
			h.writeError(w, r, err)
			return
		}
		if keys, err = decodeStrList("keys", b); err != nil {
			h.writeError(w, r, err)
			return
		}
	default:
		p, err := parseObject(b)
		if err != nil {
			h.writeError(w, r, invalidBody("Request body must be an array of user ids, or an object with \"keys\""))
			return
		}
		if _, ok := p.vals["query"]; ok {
			h.writeError(w, r, invalid("query", "is not supported: give the ids to delete as an array, or as \"keys\""))
			return
		}
		var errs [2]error
		errs[0] = p.only("keys")
		keys, _, errs[1] = p.strList("keys")
		if err := firstErr(errs[:]...); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if err := h.m.DeleteUsers(r.Context(), keys...); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}
