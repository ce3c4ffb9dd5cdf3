package webui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/validate"
)

// ---------------------------------------------------------------------------
// Roles

type rolesData struct {
	Roles []*users.Role
	Admin bool // the "Admin Access" box, as submitted
}

func (h *handler) rolesPage(w http.ResponseWriter, r *http.Request) {
	h.showRoles(w, r, http.StatusOK, &page{Title: "Roles", Nav: "roles"}, false)
}

func (h *handler) showRoles(w http.ResponseWriter, r *http.Request, status int, p *page, admin bool) {
	roles, err := h.m.ListRoles(r.Context())
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Roles"}, err)
		return
	}
	p.Data = &rolesData{Roles: roles, Admin: admin}
	h.render(w, r, status, "roles", p)
}

func (h *handler) createRole(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	admin := r.PostForm.Get("admin_access") != ""
	role, err := h.m.CreateRole(r.Context(), users.Role{Name: name, AdminAccess: admin})
	if err != nil {
		p := &page{Title: "Roles", Nav: "roles", Values: map[string]string{"name": name}}
		if pr, ok := h.failOn(w, r, "Roles", p, err, "name"); ok {
			h.showRoles(w, r, pr.Status, p, admin)
		}
		return
	}
	h.redirect(w, r, h.p+"/roles/"+url.PathEscape(role.ID), &flash{Status: []string{"Created the role " + role.Name + "."}})
}

// ---------------------------------------------------------------------------
// A role

type roleData struct {
	Role     *users.Role
	Users    []*users.User
	Pager    pager
	Panel    string // "create", "add", "invite" or ""
	Statuses []statusOption
	// Add Existing: the users not in the role, as searched.
	Candidates []*users.User
	CandPager  pager
	Search     string
	RoleNames  map[string]string // every role's name, by id: the candidates' current roles
}

func (h *handler) rolePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &page{Nav: "roles", Values: map[string]string{"status": string(users.StatusActive)}}
	h.showRole(w, r, http.StatusOK, p, q.Get("panel"))
}

// showRole renders a role page with panel open.
func (h *handler) showRole(w http.ResponseWriter, r *http.Request, status int, p *page, panel string) {
	ctx := r.Context()
	id := r.PathValue("id")
	role, err := h.m.Role(ctx, id)
	if err != nil {
		if errors.Is(err, users.ErrRoleNotFound) {
			h.notFound(w, r)
			return
		}
		h.fail(w, r, "message", &page{Title: "Role"}, err)
		return
	}
	q := r.URL.Query()
	d := &roleData{Role: role, Statuses: statuses}
	switch panel {
	case "create", "add", "invite":
		d.Panel = panel
	}
	base := h.p + "/roles/" + url.PathEscape(id)
	n := pageParam(q.Get("page"))
	d.Users, d.Pager, err = h.listPage(r, users.UserQuery{Role: &id}, n, func(page int) string {
		return base + "?page=" + strconv.Itoa(page)
	})
	if err != nil {
		h.fail(w, r, "message", &page{Title: role.Name}, err)
		return
	}
	if d.Panel == "add" {
		d.Search = strings.TrimSpace(q.Get("q"))
		// _nin rather than _neq, which reads an id "null" as null.
		cq := users.UserQuery{Search: d.Search}
		if cq.Filter, err = fieldFilter("role", "_nin", []string{id}); err != nil {
			h.fail(w, r, "message", &page{Title: role.Name}, err)
			return
		}
		cn := pageParam(q.Get("cpage"))
		d.Candidates, d.CandPager, err = h.listPage(r, cq, cn, func(page int) string {
			return base + "?" + url.Values{"panel": {"add"}, "q": {d.Search}, "cpage": {strconv.Itoa(page)}}.Encode()
		})
		if err == nil {
			d.RoleNames, err = h.roleNames(r)
		}
		if err != nil {
			h.fail(w, r, "message", &page{Title: role.Name}, err)
			return
		}
	}
	p.Title, p.Data = role.Name, d
	h.render(w, r, status, "role", p)
}

func (h *handler) roleURL(r *http.Request) string {
	return h.p + "/roles/" + url.PathEscape(r.PathValue("id"))
}

// createInRole is "Create New": a user in this role.
func (h *handler) createInRole(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	f := r.PostForm
	id := r.PathValue("id")
	in := users.CreateUserInput{
		Email: strings.TrimSpace(f.Get("email")), Password: f.Get("password"),
		FirstName: f.Get("first_name"), LastName: f.Get("last_name"),
		Status: users.Status(f.Get("status")), Role: &id,
	}
	u, err := h.m.CreateUser(r.Context(), in)
	if err != nil {
		p := &page{Nav: "roles", Values: map[string]string{"email": in.Email, "first_name": in.FirstName, "last_name": in.LastName, "status": string(in.Status)}}
		h.failPanel(w, r, p, "create", err, "email", "password", "first_name", "last_name", "status")
		return
	}
	h.redirect(w, r, h.roleURL(r), &flash{Status: []string{"Created " + display(u) + "."}})
}

// failPanel re-renders a role page with panel open and err shown.
func (h *handler) failPanel(w http.ResponseWriter, r *http.Request, p *page, panel string, err error, fields ...string) {
	if pr, ok := h.failOn(w, r, "Role", p, err, fields...); ok {
		h.showRole(w, r, pr.Status, p, panel)
	}
}

// addToRole is "Add Existing": the checked users get this role.
func (h *handler) addToRole(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	ids := r.PostForm["user"]
	if len(ids) == 0 {
		h.failPanel(w, r, &page{Nav: "roles"}, "add", errNothingChosen)
		return
	}
	ctx := r.Context()
	roleID := r.PathValue("id")
	moved := 0
	for _, id := range ids {
		if u, err := h.m.User(ctx, id); err == nil && u.Role != nil && *u.Role != roleID {
			moved++
		}
	}
	if err := h.m.AssignRole(ctx, roleID, ids...); err != nil {
		h.failPanel(w, r, &page{Nav: "roles"}, "add", err)
		return
	}
	msg := "Added " + plural(len(ids), "user", "users") + " to the role."
	if moved > 0 {
		msg = "Added " + plural(len(ids), "user", "users") + " to the role; " + plural(moved, "was", "were") + " moved out of another role."
	}
	h.redirect(w, r, h.roleURL(r), &flash{Status: []string{msg}})
}

var errNothingChosen = &users.ValidationError{Field: "user", Reason: "Choose at least one user to add."}

// removeConfirm is the page the "Remove <email>" button opens: it asks
// before removeFromRole acts.
func (h *handler) removeConfirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("user")
	role, err := h.m.Role(ctx, r.PathValue("id"))
	var u *users.User
	if err == nil {
		u, err = h.m.User(ctx, id)
	}
	if err != nil {
		if errors.Is(err, users.ErrRoleNotFound) || errors.Is(err, users.ErrUserNotFound) {
			h.notFound(w, r)
			return
		}
		h.fail(w, r, "message", &page{Title: "Remove from Role"}, err)
		return
	}
	h.render(w, r, http.StatusOK, "message", &page{Title: "Remove from Role", Nav: "roles", Data: messageData{
		Next:    "Remove " + display(u) + " from " + role.Name + "? They will have no role: public access only.",
		Form:    &actionForm{Action: h.roleURL(r) + "/remove", Button: "Remove", Hidden: map[string]string{"user": id}},
		NextURL: h.roleURL(r), NextText: "Cancel", Secondary: true,
	}})
}

// removeFromRole acts on the confirmation page's "Remove": the user's role
// becomes null (public access only).
func (h *handler) removeFromRole(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	ctx := r.Context()
	id := r.PostForm.Get("user")
	u, err := h.m.User(ctx, id)
	if err == nil && (u.Role == nil || *u.Role != r.PathValue("id")) {
		h.redirect(w, r, h.roleURL(r), &flash{Status: []string{display(u) + " was not in this role."}})
		return
	}
	if err == nil {
		err = h.m.RemoveRole(ctx, id)
	}
	if err != nil {
		h.failPanel(w, r, &page{Nav: "roles"}, "", err)
		return
	}
	h.redirect(w, r, h.roleURL(r), &flash{Status: []string{"Removed " + display(u) + " from the role: no role now, public access only."}})
}

// inviteToRole is "Invite Users" on a role page: one line per address
// with its outcome.
func (h *handler) inviteToRole(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	list := r.PostForm.Get("emails")
	p := &page{Nav: "roles", Values: map[string]string{"emails": list}}
	f, err := h.invite(r, list, r.PathValue("id"))
	if err != nil {
		h.failPanel(w, r, p, "invite", err, "emails")
		return
	}
	h.redirect(w, r, h.roleURL(r), f)
}

// invite invites the addresses of list to the role roleID and words the
// outcome, split by kind: the invitations sent (Status), the addresses
// refused or not mailed (Warn), and those left alone because they have an
// account already (Note). An error is returned only when nothing was
// done.
func (h *handler) invite(r *http.Request, list, roleID string) (*flash, error) {
	addrs := users.ParseEmailList(list)
	if len(addrs) == 0 {
		return nil, &users.ValidationError{Field: "emails", Reason: "Enter at least one email address."}
	}
	if len(addrs) > users.MaxInviteEmails {
		return nil, &users.ValidationError{Field: "emails", Reason: "Enter at most " + strconv.Itoa(users.MaxInviteEmails) + " addresses at once."}
	}
	valid := make([]string, 0, len(addrs))
	refused := map[string]string{}
	for _, a := range addrs {
		if validate.Email(a) != "" {
			refused[a] = a + ": refused, not a valid email address."
			continue
		}
		valid = append(valid, a)
	}
	var results []users.InviteResult
	if len(valid) > 0 {
		var err error
		results, err = h.m.Invite(r.Context(), users.InviteInput{Emails: valid, Role: roleID})
		if err != nil && len(results) == 0 {
			return nil, err
		}
		if err != nil {
			h.cfg.log.ErrorContext(r.Context(), "webui: invite stopped part way", "done", len(results), "error", err)
		}
	}
	byEmail := map[string]users.InviteResult{}
	for _, res := range results {
		byEmail[users.NormalizeEmail(res.Email)] = res
	}
	f := &flash{}
	for _, a := range addrs {
		if line, ok := refused[a]; ok {
			f.Warn = append(f.Warn, line)
			continue
		}
		res, ok := byEmail[users.NormalizeEmail(a)]
		switch {
		case !ok:
			f.Warn = append(f.Warn, a+": not handled, because an error stopped the invitation. Try again.")
		case res.Err != nil:
			f.Warn = append(f.Warn, h.inviteLineIn(r, res, roleID))
		case res.Outcome == users.InviteCreated || res.Outcome == users.InviteResent || res.Outcome == "converted":
			f.Status = append(f.Status, h.inviteLineIn(r, res, roleID))
		default:
			f.Note = append(f.Note, h.inviteLineIn(r, res, roleID))
		}
	}
	sent := len(f.Status)
	if sent+len(f.Warn)+len(f.Note) > 5 {
		// A long list may not fit the message: the totals come first.
		f.Status = append([]string{plural(sent, "invitation", "invitations") + " sent; " +
			strconv.Itoa(len(f.Warn)) + " refused; " + strconv.Itoa(len(f.Note)) + " left alone."}, f.Status...)
	}
	return f, nil
}

// inviteLineIn words one address's invitation outcome to the role
// roleID. An address that has an account Invite left alone (active,
// suspended…) is a member only when that account is in the role; else the
// line says where it is, and how to give it the role.
func (h *handler) inviteLineIn(r *http.Request, res users.InviteResult, roleID string) string {
	if res.Outcome != users.InviteAlreadyActive && res.Outcome != users.InviteSkipped || res.UserID == "" {
		return inviteLine(res)
	}
	u, err := h.m.User(r.Context(), res.UserID)
	if err != nil {
		return inviteLine(res)
	}
	if u.Role != nil && *u.Role == roleID {
		return res.Email + ": already a member (" + string(u.Status) + "), nothing sent."
	}
	where := "in another role"
	if u.Role == nil {
		where = "with no role"
	}
	article := "a"
	if u.Status == users.StatusActive || u.Status == users.StatusArchived || u.Status == users.StatusInvited || u.Status == users.StatusUnverified {
		article = "an"
	}
	return res.Email + ": has " + article + " " + string(u.Status) + " account " + where + ", nothing sent; Add Existing gives it this role."
}
