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
	RoleList []*users.Role     // the roles, for the Create and Invite panels
	Pager    pager
	Search   string
	Status   string
	Statuses []statusOption
	Panel    string // "create", "invite" or ""
}

// usersPage lists every user: searched, filtered by status, PageSize a
// page; ?panel=create or invite opens "Create User" or "Invite Users".
func (h *handler) usersPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Values: map[string]string{"account_status": string(users.StatusActive)}}
	h.showUsers(w, r, http.StatusOK, p, r.URL.Query().Get("panel"))
}

// showUsers renders the Users page with panel open.
func (h *handler) showUsers(w http.ResponseWriter, r *http.Request, status int, p *page, panel string) {
	q := r.URL.Query()
	d := &usersData{Search: strings.TrimSpace(q.Get("q")), Statuses: statuses}
	if panel == "create" || panel == "invite" {
		d.Panel = panel
	}
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
		d.RoleList, err = h.m.ListRoles(r.Context())
	}
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Users"}, err)
		return
	}
	d.Roles = make(map[string]string, len(d.RoleList))
	for _, ro := range d.RoleList {
		d.Roles[ro.ID] = ro.Name
	}
	p.Title, p.Nav, p.Data = "Users", "users", d
	h.render(w, r, status, "users", p)
}

// createUser is the Users page's "Create User".
func (h *handler) createUser(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	f := r.PostForm
	role := f.Get("role")
	in := users.CreateUserInput{
		Email: strings.TrimSpace(f.Get("email")), Password: f.Get("password"),
		FirstName: f.Get("first_name"), LastName: f.Get("last_name"), Status: users.Status(f.Get("account_status")),
	}
	if role != "" {
		in.Role = &role
	}
	u, err := h.m.CreateUser(r.Context(), in)
	if err != nil {
		p := &page{Values: map[string]string{"email": in.Email, "first_name": in.FirstName, "last_name": in.LastName,
			"account_status": string(in.Status), "role": role}}
		if pr, ok := h.failOn(w, r, "Users", p, err, "email", "password", "first_name", "last_name", "account_status", "role"); ok {
			h.showUsers(w, r, pr.Status, p, "create")
		}
		return
	}
	h.redirect(w, r, h.p+"/users/"+url.PathEscape(u.ID), &flash{Status: []string{"Created " + display(u) + "."}})
}

// inviteUsers is the Users page's "Invite Users": to the chosen role.
func (h *handler) inviteUsers(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	list, role := r.PostForm.Get("emails"), r.PostForm.Get("role")
	p := &page{Values: map[string]string{"emails": list, "role": role}}
	var (
		f   *flash
		err error
	)
	if role == "" {
		err = &users.ValidationError{Field: "role", Reason: "Choose the role the invited users get."}
	} else {
		f, err = h.invite(r, list, role)
	}
	if err != nil {
		if pr, ok := h.failOn(w, r, "Users", p, err, "emails", "role"); ok {
			h.showUsers(w, r, pr.Status, p, "invite")
		}
		return
	}
	h.redirect(w, r, h.p+"/users", f)
}

// deleteConfirm is the page the "Delete" buttons open: it asks before
// deleteUser acts.
func (h *handler) deleteConfirm(w http.ResponseWriter, r *http.Request) {
	u, err := h.m.User(r.Context(), r.PathValue("id"))
	if err != nil {
		if errors.Is(err, users.ErrUserNotFound) {
			h.notFound(w, r)
			return
		}
		h.fail(w, r, "message", &page{Title: "Delete User"}, err)
		return
	}
	h.render(w, r, http.StatusOK, "message", &page{Title: "Delete User", Nav: "users", Data: messageData{
		Next:    "Delete " + display(u) + "? The account, its sessions and its pending mail are removed for good.",
		Form:    &actionForm{Action: h.userURL(r) + "/delete", Button: "Delete"},
		NextURL: h.p + "/users", NextText: "Cancel", Secondary: true,
	}})
}

// deleteUser acts on the confirmation page's "Delete". The last active
// administrator is kept (users.ErrLastAdmin).
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	ctx := r.Context()
	u, err := h.m.User(ctx, r.PathValue("id"))
	if err == nil {
		err = h.m.DeleteUsers(ctx, u.ID)
	}
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Delete User", Nav: "users",
			Data: messageData{NextURL: h.p + "/users", NextText: "Back to Users"}}, err)
		return
	}
	h.redirect(w, r, h.p+"/users", &flash{Status: []string{"Deleted " + display(u) + "."}})
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
	History       []historyEntry
}

// historyEntry is one line of a user's history on its page.
type historyEntry struct {
	When, What, Who string
	WhoID           string // the acting user's id when it is another user
}

// historyFlows are the words the history uses for each flow.
var historyFlows = map[string]string{
	"registered": "Registered", "verified": "Verified the email address", "invited": "Invited",
	"invite_accepted": "Accepted the invitation", "created": "Created", "updated": "Changed",
	"deleted": "Deleted", "signed_in": "Signed in", "signed_out": "Signed out",
	"password_reset": "Reset the password", "password_changed": "Changed the password",
}

// history returns the user's latest 50 events, newest first.
func (h *handler) history(r *http.Request, u *users.User) ([]historyEntry, error) {
	doc, err := json.Marshal(map[string]any{"item": map[string]string{"_eq": u.ID}})
	if err != nil {
		return nil, err
	}
	es, err := h.m.ListActivity(r.Context(), users.ActivityQuery{Filter: doc, Sort: []string{"-id"}, Limit: 50})
	if err != nil {
		return nil, err
	}
	names, err := h.roleNames(r)
	if err != nil {
		return nil, err
	}
	out := make([]historyEntry, len(es))
	for i, e := range es {
		what := historyFlows[e.Flow]
		if what == "" {
			what = e.Flow
		}
		if e.Flow == "updated" || e.Flow == "invited" || e.Flow == "created" {
			if name, ok := names[e.Role]; ok && e.Role != "" {
				what += " (role " + name + ")"
			} else if e.Role != "" {
				what += " (role " + e.Role + ")"
			} else {
				what += " (no role)"
			}
		}
		who := "anonymous"
		switch e.Actor {
		case "":
			if e.Action != "login" && e.Flow != "registered" && e.Flow != "signed_out" {
				who = "an administrator" // one the host's authorizer let in: no user
			}
		case u.ID:
			who = "the user"
		default:
			who = "administrator " + e.Actor
			out[i].WhoID = e.Actor
		}
		out[i].When, out[i].What, out[i].Who = e.Time.Format("2006-01-02 15:04 MST"), what, who
	}
	return out, nil
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
	if d.History, err = h.history(r, u); err != nil {
		h.fail(w, r, "message", &page{Title: "User"}, err)
		return
	}
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
