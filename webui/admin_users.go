package webui

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gousers/users"
)

type usersData struct {
	Users    []*users.User
	Roles    map[string]string // role names by id
	Pager    pager
	Search   string
	Status   string
	Statuses []statusOption
}

// usersPage lists every user: searched, filtered by status, PageSize a
// page.
func (h *handler) usersPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &usersData{Search: strings.TrimSpace(q.Get("q")), Statuses: statuses}
	uq := users.UserQuery{Search: d.Search}
	var err error
	if st := users.Status(q.Get("status")); st.Valid() {
		d.Status = string(st)
		if uq.Filter, err = fieldFilter("status", "_eq", d.Status); err != nil {
			h.fail(w, r, "message", &page{Title: "Users"}, err)
			return
		}
	}
	n := pageParam(q.Get("page"))
	d.Users, d.Pager, err = h.listPage(r, uq, n, func(page int) string {
		v := url.Values{"page": {strconv.Itoa(page)}}
		if d.Search != "" {
			v.Set("q", d.Search)
		}
		if d.Status != "" {
			v.Set("status", d.Status)
		}
		return h.p + "/users?" + v.Encode()
	})
	if err == nil {
		d.Pager.Total, err = h.countUsers(r, uq)
	}
	if err == nil {
		d.Roles, err = h.roleNames(r)
	}
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Users"}, err)
		return
	}
	h.render(w, r, http.StatusOK, "users", &page{Title: "Users", Nav: "users", Data: d})
}

func (h *handler) roleNames(r *http.Request) (map[string]string, error) {
	roles, err := h.m.ListRoles(r.Context())
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(roles))
	for _, ro := range roles {
		names[ro.ID] = ro.Name
	}
	return names, nil
}

type userData struct {
	User     *users.User
	Roles    []*users.Role
	Role     string // selected role id, "" for none
	Status   string
	Statuses []statusOption
	Resend   bool // the user's mail can be sent again
	// RecoveryCodes is how many recovery codes the user has left, when it
	// has a second factor (User.TwoFactor).
	RecoveryCodes int
}

func (h *handler) userPage(w http.ResponseWriter, r *http.Request) {
	u, err := h.m.User(r.Context(), r.PathValue("id"))
	if err != nil {
		if errors.Is(err, users.ErrUserNotFound) {
			h.notFound(w, r)
			return
		}
		h.fail(w, r, "message", &page{Title: "User"}, err)
		return
	}
	p := &page{Nav: "users", Values: map[string]string{"first_name": u.FirstName, "last_name": u.LastName}}
	d := &userData{Status: string(u.Status)}
	if u.Role != nil {
		d.Role = *u.Role
	}
	h.showUser(w, r, http.StatusOK, p, u, d)
}

func (h *handler) showUser(w http.ResponseWriter, r *http.Request, status int, p *page, u *users.User, d *userData) {
	roles, err := h.m.ListRoles(r.Context())
	if err != nil {
		h.fail(w, r, "message", &page{Title: "User"}, err)
		return
	}
	d.User, d.Roles, d.Statuses = u, roles, statuses
	if u.TwoFactor {
		if d.RecoveryCodes, err = h.m.RecoveryCodesLeft(r.Context(), u.ID); err != nil {
			h.fail(w, r, "message", &page{Title: "User"}, err)
			return
		}
	}
	d.Resend = u.Email != "" && (u.Status == users.StatusUnverified || u.Status == users.StatusInvited)
	p.Title, p.Data = display(u), d
	h.render(w, r, status, "user", p)
}

func (h *handler) userURL(r *http.Request) string {
	return h.p + "/users/" + url.PathEscape(r.PathValue("id"))
}

// saveUser saves a user's role, status and names.
func (h *handler) saveUser(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	ctx := r.Context()
	f := r.PostForm
	first, last, st, role := f.Get("first_name"), f.Get("last_name"), users.Status(f.Get("status")), f.Get("role")
	patch := users.UserPatch{FirstName: &first, LastName: &last, Status: &st, SetRole: true}
	if role != "" {
		patch.Role = &role
	}
	u, err := h.m.UpdateUser(ctx, r.PathValue("id"), patch)
	if err != nil {
		cur, gerr := h.m.User(ctx, r.PathValue("id"))
		if gerr != nil {
			h.fail(w, r, "message", &page{Title: "User"}, err)
			return
		}
		p := &page{Nav: "users", Values: map[string]string{"first_name": first, "last_name": last}}
		if pr, ok := h.failOn(w, r, "User", p, err, "first_name", "last_name", "status", "role"); ok {
			h.showUser(w, r, pr.Status, p, cur, &userData{Role: role, Status: string(st)})
		}
		return
	}
	h.redirect(w, r, h.userURL(r), &flash{Status: []string{"Saved " + display(u) + "."}})
}

// countUsers counts the users q selects.
func (h *handler) countUsers(r *http.Request, q users.UserQuery) (int, error) {
	return h.m.CountUsers(r.Context(), q)
}

type statusOption struct {
	Value users.Status
	Label string
}

var statuses = []statusOption{
	{users.StatusActive, "Active"},
	{users.StatusInvited, "Invited"},
	{users.StatusUnverified, "Unverified"},
	{users.StatusDraft, "Draft"},
	{users.StatusSuspended, "Suspended"},
	{users.StatusArchived, "Archived"},
}

// pager is the paging of a list: 1-based page, whether there is a next one.
type pager struct {
	Page       int
	Total      int // -1 when not counted
	Prev, Next string
}

func pageParam(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 1
	}
	return n
}

// listPage lists page n (1-based) of the users q selects, sorted by email,
// PageSize of them, with links built by link.
func (h *handler) listPage(r *http.Request, q users.UserQuery, n int, link func(int) string) ([]*users.User, pager, error) {
	q.Sort = []string{"email"}
	q.Limit, q.Offset = PageSize+1, (n-1)*PageSize
	list, err := h.m.ListUsers(r.Context(), q)
	if err != nil {
		return nil, pager{}, err
	}
	pg := pager{Page: n, Total: -1}
	if len(list) > PageSize {
		list = list[:PageSize]
		pg.Next = link(n + 1)
	}
	if n > 1 {
		pg.Prev = link(n - 1)
	}
	return list, pg, nil
}

// fieldFilter is the filter {field: {op: operand}}.
func fieldFilter(field, op string, operand any) (*users.Filter, error) {
	doc, err := json.Marshal(map[string]map[string]any{field: {op: operand}})
	if err != nil {
		return nil, err
	}
	return users.ParseFilter(doc)
}

// display names a user in a message: its email, else its name, else its
// id.
func display(u *users.User) string {
	if u.Email != "" {
		return u.Email
	}
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	return u.ID
}
