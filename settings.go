package users

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/gousers/users/internal/validate"
)

// Settings are the runtime registration settings. They are persisted in the
// Store, so every process sharing the store sees a change on its next
// operation. Read them with Manager.Settings, change them with
// Manager.UpdateSettings, which validates them first.
type Settings struct {
	// PublicRegistration allows anyone to call Register. Default false.
	PublicRegistration bool `json:"public_registration"`

	// PublicRegistrationVerifyEmail makes registered users start
	// unverified and receive a verification mail. Default true.
	PublicRegistrationVerifyEmail bool `json:"public_registration_verify_email"`

	// PublicRegistrationRole is the role given to registered users: nil for
	// none (public permissions only). It must name an existing role without
	// admin access. Default nil.
	PublicRegistrationRole *string `json:"public_registration_role"`

	// PublicRegistrationEmailFilter, when not nil, must match a registering
	// email, which it sees normalised as the account is keyed (see
	// EmailFilter and NormalizeEmail). Default nil.
	PublicRegistrationEmailFilter *EmailFilter `json:"public_registration_email_filter"`

	// PasswordPolicy, when not nil, must match every new password. Default
	// nil. UpdateSettings refuses a policy that is too slow to evaluate
	// (see PasswordPolicy).
	PasswordPolicy *PasswordPolicy `json:"auth_password_policy"`

	// PasswordPolicyDescription says in words what PasswordPolicy asks
	// for ("at least 12 characters, with a digit"); a refused password's
	// error shows it, never the expression. Empty: Directus's two presets
	// are described by the library (PasswordPolicyMinLength,
	// PasswordPolicyStrong), any other policy's error says only that the
	// password doesn't match the policy. At most 200 characters, one line,
	// no control or invisible format characters. Default "".
	PasswordPolicyDescription string `json:"auth_password_policy_description,omitempty"`

	// ProjectName is the application's name, which mails show ("You have
	// been invited to join <project>"). At most 100 characters, with no
	// control, bidi or other invisible formatting characters. Empty means
	// the Manager's default (WithProjectName), which is itself empty
	// unless set; Settings reports that default here, and UpdateSettings
	// stores a name equal to it as empty, so that settings read and saved
	// again keep following the configured name. Default "".
	ProjectName string `json:"project_name"`
}

// DefaultSettings returns the settings in force until the first
// UpdateSettings: registration off, email verification on, no role, no
// filter, no password policy.
func DefaultSettings() Settings {
	return Settings{PublicRegistrationVerifyEmail: true}
}

// Settings returns the settings in force.
func (m *Manager) Settings(ctx context.Context) (Settings, error) {
	s, err := m.settings(ctx)
	if err != nil {
		return Settings{}, opErr("settings", err)
	}
	return *s, nil
}

// UpdateSettings validates s and saves it: the registration role must exist
// and must not have admin access (ErrRoleNotFound, ErrAdminRole); the filter
// and the password policy are already compiled (ParseEmailFilter,
// ParsePasswordPolicy), so a malformed one never gets this far, but a
// policy too slow to evaluate on the library's adversarial probes is
// refused here (a *ValidationError for "auth_password_policy"), as is a
// description that is not one short line of visible text. Nothing is
// saved when s is invalid.
func (m *Manager) UpdateSettings(ctx context.Context, s Settings) (Settings, error) {
	if err := validateProjectName(s.ProjectName); err != nil {
		return Settings{}, opErr("update settings", err)
	}
	if err := validatePolicyDescription(s.PasswordPolicyDescription); err != nil {
		return Settings{}, opErr("update settings", err)
	}
	if s.PasswordPolicy != nil {
		if err := s.PasswordPolicy.probe(); err != nil {
			return Settings{}, opErr("update settings", err)
		}
	}
	if err := validateID("public_registration_role", s.PublicRegistrationRole); err != nil {
		return Settings{}, opErr("update settings", err)
	}
	if s.PublicRegistrationRole != nil {
		role, err := m.store.GetRole(ctx, *s.PublicRegistrationRole)
		switch {
		case isNotFound(err):
			return Settings{}, opErr("update settings", &ValidationError{Field: "public_registration_role", Reason: "names no role", Err: ErrRoleNotFound})
		case err != nil:
			return Settings{}, opErr("update settings", err)
		case role.AdminAccess:
			return Settings{}, opErr("update settings", &ValidationError{Field: "public_registration_role", Reason: "must not have admin access", Err: ErrAdminRole})
		}
	}
	stored := s
	if stored.ProjectName == m.projectName {
		stored.ProjectName = "" // the configured default, as Settings reported it
	}
	doc, err := json.Marshal(stored)
	if err != nil {
		return Settings{}, opErr("update settings", err)
	}
	if jsonHasNUL(doc) {
		// A NUL in a filter value: refused here, the same on every store.
		return Settings{}, opErr("update settings", invalid("public_registration_email_filter", "must not contain NUL characters"))
	}
	if err := m.store.SaveSettings(ctx, doc); err != nil {
		return Settings{}, opErr("update settings", err)
	}
	m.withDefaults(&s)
	m.cached.Store(&cachedSettings{doc: doc, s: s})
	return s, nil
}

type cachedSettings struct {
	doc []byte
	s   Settings
}

// settings loads the settings document and reuses the compiled form while
// the document is unchanged, so a change made by another process is seen
// on the next operation without recompiling on every call.
func (m *Manager) settings(ctx context.Context) (*Settings, error) {
	doc, err := m.store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		d := DefaultSettings()
		m.withDefaults(&d)
		return &d, nil
	}
	if c := m.cached.Load(); c != nil && bytes.Equal(c.doc, doc) {
		return &c.s, nil
	}
	var s Settings
	if err := json.Unmarshal(doc, &s); err != nil {
		return nil, fmt.Errorf("stored settings are corrupt: %w", err)
	}
	m.withDefaults(&s)
	m.cached.Store(&cachedSettings{doc: doc, s: s})
	return &s, nil
}

// validateProjectName checks a project name as UpdateSettings and
// WithProjectName do (see validate.ProjectName). The error is a
// *ValidationError for the field "project_name".
func validateProjectName(name string) error {
	if reason := validate.ProjectName(name); reason != "" {
		return invalid("project_name", reason)
	}
	return nil
}

// withDefaults fills what settings leave to the Manager's configuration.
func (m *Manager) withDefaults(s *Settings) {
	if s.ProjectName == "" {
		s.ProjectName = m.projectName
	}
}
