package webui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gousers/users"
)

type settingsData struct {
	Roles        []*users.Role // the roles registration may give: no admin access
	Role         string        // the selected one ("" for none)
	Registration bool
	VerifyEmail  bool
	Presets      []preset
}

type preset struct{ Value, Label string }

var policyPresets = []preset{
	{users.PasswordPolicyMinLength, "Weak: at least 8 characters"},
	{users.PasswordPolicyStrong, "Strong: upper and lower case, digits, special characters"},
}

func (h *handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	s, err := h.m.Settings(r.Context())
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Settings"}, err)
		return
	}
	p := &page{Title: "Settings", Nav: "settings", Values: map[string]string{}}
	d := &settingsData{Registration: s.PublicRegistration, VerifyEmail: s.PublicRegistrationVerifyEmail, Presets: policyPresets}
	if s.PublicRegistrationRole != nil {
		d.Role = *s.PublicRegistrationRole
	}
	if s.PublicRegistrationEmailFilter != nil {
		p.Values["public_registration_email_filter"] = s.PublicRegistrationEmailFilter.String()
	}
	if s.PasswordPolicy != nil {
		p.Values["auth_password_policy"] = s.PasswordPolicy.String()
		p.Values["auth_password_policy_description"] = s.PasswordPolicyDescription
	}
	settingsToForm(&s, p)
	h.showSettings(w, r, http.StatusOK, p, d)
}

func (h *handler) showSettings(w http.ResponseWriter, r *http.Request, status int, p *page, d *settingsData) {
	roles, err := h.m.ListRoles(r.Context())
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Settings"}, err)
		return
	}
	for _, ro := range roles {
		if !ro.AdminAccess {
			d.Roles = append(d.Roles, ro)
		}
	}
	p.Data = d
	h.render(w, r, status, "settings", p)
}

func (h *handler) saveSettings(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	ctx := r.Context()
	s, err := h.m.Settings(ctx)
	if err != nil {
		h.fail(w, r, "message", &page{Title: "Settings"}, err)
		return
	}
	f := r.PostForm
	p := &page{Title: "Settings", Nav: "settings", Values: map[string]string{
		"public_registration_email_filter": f.Get("public_registration_email_filter"),
		"auth_password_policy":             f.Get("auth_password_policy"),
		"auth_password_policy_description": f.Get("auth_password_policy_description"),
	}}
	d := &settingsData{Registration: f.Get("public_registration") != "", VerifyEmail: f.Get("public_registration_verify_email") != "",
		Role: f.Get("public_registration_role"), Presets: policyPresets}
	fields := []string{"public_registration_role", "public_registration_email_filter", "auth_password_policy", "auth_password_policy_description"}
	fields = append(fields, formToSettings(f, &s, p)...)
	s.PublicRegistration, s.PublicRegistrationVerifyEmail = d.Registration, d.VerifyEmail
	s.PublicRegistrationRole = nil
	if d.Role != "" {
		role := d.Role
		s.PublicRegistrationRole = &role
	}
	s.PublicRegistrationEmailFilter = nil
	if doc := strings.TrimSpace(f.Get("public_registration_email_filter")); doc != "" {
		if s.PublicRegistrationEmailFilter, err = users.ParseEmailFilter([]byte(doc)); err != nil {
			h.failSettings(w, r, p, d, err, fields)
			return
		}
	}
	s.PasswordPolicy = nil
	if src := strings.TrimSpace(f.Get("auth_password_policy")); src != "" {
		if s.PasswordPolicy, err = users.ParsePasswordPolicy(src); err != nil {
			h.failSettings(w, r, p, d, err, fields)
			return
		}
	}
	s.PasswordPolicyDescription = ""
	if s.PasswordPolicy != nil {
		s.PasswordPolicyDescription = strings.TrimSpace(f.Get("auth_password_policy_description"))
	}
	if _, err := h.m.UpdateSettings(ctx, s); err != nil {
		h.failSettings(w, r, p, d, err, fields)
		return
	}
	h.redirect(w, r, h.p+"/settings", &flash{Status: []string{"Saved."}})
}

func (h *handler) failSettings(w http.ResponseWriter, r *http.Request, p *page, d *settingsData, err error, fields []string) {
	if pr, ok := h.failOn(w, r, "Settings", p, err, fields...); ok {
		h.showSettings(w, r, pr.Status, p, d)
	}
}

// settingsToForm fills the form values of the settings that have no field
// of their own in settingsData.
func settingsToForm(s *users.Settings, p *page) {
	p.Values["project_name"] = s.ProjectName
}

// formToSettings copies those settings from the form into s, and returns
// the names of their fields.
func formToSettings(f url.Values, s *users.Settings, p *page) []string {
	s.ProjectName = strings.TrimSpace(f.Get("project_name"))
	p.Values["project_name"] = f.Get("project_name")
	return []string{"project_name"}
}
