package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

// This file holds the admin routes: users, roles, settings. Each is wrapped
// by handler.admin, so the authorizer has answered before any of it runs.

// maskedPassword is what Directus shows for a password that is set.
const maskedPassword = "**********"

// userView is a user on the wire: Directus's directus_users fields, empty
// strings as null, the password masked.
type userView struct {
	ID        string         `json:"id"`
	Email     *string        `json:"email"`
	Password  *string        `json:"password"`
	FirstName *string        `json:"first_name"`
	LastName  *string        `json:"last_name"`
	Status    users.Status   `json:"status"`
	Role      *string        `json:"role"`
	Policies  []string       `json:"policies"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

func viewUser(u *users.User) userView {
	orNull := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	v := userView{
		ID: u.ID, Email: orNull(u.Email), FirstName: orNull(u.FirstName), LastName: orNull(u.LastName),
		Status: u.Status, Role: u.Role, Policies: u.Policies, Metadata: u.Metadata,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
	if u.HasPassword {
		v.Password = orNull(maskedPassword)
	}
	if v.Policies == nil {
		v.Policies = []string{}
	}
	return v
}

func viewUsers(us []*users.User) []userView {
	out := make([]userView, len(us))
	for i, u := range us {
		out[i] = viewUser(u)
	}
	return out
}

// userFields are the fields POST /users and PATCH /users[/{id}] take.
var userFields = []string{"email", "password", "first_name", "last_name", "status", "role", "policies", "metadata"}

// createUser: POST /users → 200 {"data": user}, with only the fields
// the fields parameter names (a bad one is refused before anything changes).
func (h *handler) createUser(w http.ResponseWriter, r *http.Request) {
	fields, err := fieldsParam(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	patch, err := readUserPatch(p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	in := users.CreateInput{
		Email: deref(patch.Email), Password: deref(patch.Password),
		FirstName: deref(patch.FirstName), LastName: deref(patch.LastName),
		Role: patch.Role, Policies: patch.Policies, Metadata: patch.Metadata,
	}
	if patch.Status != nil {
		in.Status = *patch.Status
	}
	u, err := h.m.Create(r.Context(), in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: selectFields(viewUser(u), fields)})
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
	h.writeJSON(w, http.StatusOK, dataBody{Data: selectFields(viewUser(u), fields)})
}

// updateUser: PATCH /users/{id} → 200 {"data": user}, with only the fields
// the fields parameter names (a bad one is refused before anything changes).
func (h *handler) updateUser(w http.ResponseWriter, r *http.Request) {
	fields, err := fieldsParam(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	patch, err := readUserPatch(p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.m.UpdateUser(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: selectFields(viewUser(u), fields)})
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
	us, err := h.m.ListUsers(r.Context(), store.UserQuery{IDs: keys})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: viewUsers(us)})
}

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

// createRole: POST /roles {id?, name, description?, admin_access?} → 200
// {"data": role}.
func (h *handler) createRole(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		role users.Role
		errs [5]error
	)
	errs[0] = p.only("id", "name", "description", "admin_access")
	role.ID, _, errs[1] = p.str("id")
	role.Name, _, errs[2] = p.str("name")
	role.Description, _, errs[3] = p.str("description")
	role.AdminAccess, _, errs[4] = p.boolean("admin_access")
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
			f, err := users.ParseFilter(raw)
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
