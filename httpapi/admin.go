package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
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

// createUser: POST /users → 200 {"data": user}.
func (h *handler) createUser(w http.ResponseWriter, r *http.Request) {
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
	h.writeJSON(w, http.StatusOK, dataBody{Data: viewUser(u)})
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
	u, err := h.m.User(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: viewUser(u)})
}

// updateUser: PATCH /users/{id} → 200 {"data": user}.
func (h *handler) updateUser(w http.ResponseWriter, r *http.Request) {
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
	h.writeJSON(w, http.StatusOK, dataBody{Data: viewUser(u)})
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
	h.writeJSON(w, http.StatusOK, dataBody{Data: viewUsers(us)})
}

// listUsers: GET /users → 200 {"data": [user…]}. See parseUserQuery for the
// query parameters.
func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	q, none, err := parseUserQuery(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var us []*users.User
	if !none {
		if us, err = h.m.ListUsers(r.Context(), q); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: viewUsers(us)})
}

// defaultLimit is Directus's QUERY_LIMIT_DEFAULT; maxQueryInt bounds limit,
// offset and page so that page*limit cannot overflow.
const (
	defaultLimit = 100
	maxQueryInt  = 1<<31 - 1
)

var filterParam = regexp.MustCompile(`^filter\[([a-z_]+)\]\[(_[a-z]+)\]$`)

// parseUserQuery reads GET /users's query: limit (default 100, -1 for all),
// offset, page (1-based, with limit), fields (accepted and ignored: every
// field is returned), access_token (for BearerToken), and a filter, either
// as JSON (filter={"role":{"_eq":"<id>"}}) or in brackets
// (filter[role][_eq]=<id>), with the conditions role _eq <id>,
// role _null true, id _eq <id>, id _in [<id>…] (brackets: comma-separated).
// Anything else is 400 INVALID_QUERY. none reports limit=0: no user wanted.
func parseUserQuery(v url.Values) (q users.UserQuery, none bool, err error) {
	limit, offset, page := defaultLimit, 0, 0
	type cond struct {
		field, op string
		val       json.RawMessage
	}
	var conds []cond
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range v {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		vals := v[k]
		if len(vals) != 1 {
			return q, false, badQuery("%q must be given once", k)
		}
		val := vals[0]
		num := func(min int) (int, error) {
			n, err := strconv.Atoi(val)
			if err != nil || n < min || n > maxQueryInt {
				return 0, badQuery("%q must be an integer from %d to %d", k, min, maxQueryInt)
			}
			return n, nil
		}
		var err error
		switch m := filterParam.FindStringSubmatch(k); {
		case k == "limit":
			limit, err = num(-1)
		case k == "offset":
			offset, err = num(0)
		case k == "page":
			page, err = num(1)
		case k == "fields", k == "access_token":
		case k == "filter":
			var doc map[string]map[string]json.RawMessage
			if json.Unmarshal([]byte(val), &doc) != nil {
				return q, false, badQuery(`"filter" must be a JSON object of {"<field>": {"<operator>": <value>}}`)
			}
			for f, ops := range doc {
				for op, raw := range ops {
					conds = append(conds, cond{f, op, raw})
				}
			}
		case m != nil:
			raw, _ := json.Marshal(val)
			if m[2] == "_in" {
				raw, _ = json.Marshal(strings.Split(val, ","))
			}
			if m[2] == "_null" {
				raw = json.RawMessage(val)
			}
			conds = append(conds, cond{m[1], m[2], raw})
		default:
			return q, false, badQuery("unknown query parameter %q", k)
		}
		if err != nil {
			return q, false, err
		}
	}
	for _, c := range conds {
		switch c.field + " " + c.op {
		case "role _eq":
			var id string
			if json.Unmarshal(c.val, &id) != nil || id == "" {
				return q, false, badQuery("filter role _eq takes a role id")
			}
			q.Role = &id
		case "role _null":
			var b bool
			if json.Unmarshal(c.val, &b) != nil || !b {
				return q, false, badQuery("filter role _null takes true")
			}
			q.NoRole = true
		case "id _eq":
			var id string
			if json.Unmarshal(c.val, &id) != nil || id == "" {
				return q, false, badQuery("filter id _eq takes a user id")
			}
			q.IDs = append(q.IDs, id)
		case "id _in":
			var ids []string
			if json.Unmarshal(c.val, &ids) != nil || len(ids) == 0 || slices.Contains(ids, "") {
				return q, false, badQuery("filter id _in takes user ids")
			}
			q.IDs = append(q.IDs, ids...)
		default:
			return q, false, badQuery("filter %s %s is not supported (role _eq, role _null, id _eq, id _in are)", c.field, c.op)
		}
	}
	if limit > 0 && page > 0 {
		offset = (page - 1) * limit
	}
	q.Offset = offset
	if limit > 0 {
		q.Limit = limit // -1 (every user) is the store's 0
	}
	return q, limit == 0, nil
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
		"project_name"); err != nil {
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
	}
	return nil
}
