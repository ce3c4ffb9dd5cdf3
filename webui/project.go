package webui

import (
	"net/url"
	"strings"

	"github.com/gousers/users"
)

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
