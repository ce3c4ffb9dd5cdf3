package users

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxProjectNameLen is the longest Settings.ProjectName, in characters
// (Directus keeps project_name in a 100-character column).
const MaxProjectNameLen = 100

// ValidateProjectName checks a project name as UpdateSettings and
// WithProjectName do: at most MaxProjectNameLen characters, valid UTF-8,
// and none that would garble a mail — controls (line breaks included),
// bidi overrides and other invisible format characters, line and
// paragraph separators, private-use characters and noncharacters. The
// error is a *ValidationError for the field "project_name".
func ValidateProjectName(name string) error {
	bad := func(reason string) error { return invalid("project_name", reason) }
	switch {
	case !utf8.ValidString(name):
		return bad("must be valid UTF-8")
	case utf8.RuneCountInString(name) > MaxProjectNameLen:
		return bad(fmt.Sprintf("must be at most %d characters", MaxProjectNameLen))
	}
	for _, r := range name {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Noncharacter_Code_Point) {
			return bad(fmt.Sprintf("must not contain control, bidi or invisible formatting characters (found U+%04X)", r))
		}
	}
	return nil
}

// withDefaults fills what settings leave to the Manager's configuration.
func (m *Manager) withDefaults(s *Settings) {
	if s.ProjectName == "" {
		s.ProjectName = m.projectName
	}
}
