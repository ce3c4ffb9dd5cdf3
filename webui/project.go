package webui

import (
	"net/url"

	"github.com/gousers/users"
)

// settingsToForm fills the form values of the settings that have no field
// of their own in settingsData.
func settingsToForm(s *users.Settings, p *page) {}

// formToSettings copies those settings from the form into s, and returns
// the names of their fields.
func formToSettings(f url.Values, s *users.Settings, p *page) []string { return nil }
