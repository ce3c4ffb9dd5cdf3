package users

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
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
	// email (SPEC §4). Default nil.
	PublicRegistrationEmailFilter *Filter `json:"public_registration_email_filter"`

	// PasswordPolicy, when not nil, must match every new password. Default
	// nil.
	PasswordPolicy *PasswordPolicy `json:"auth_password_policy"`

	// ProjectName is the application's name, which mails show ("You have
	// been invited to join <project>"). At most 100 characters, with no
	// control, bidi or other invisible formatting characters. Empty means
	// the Manager's default (WithProjectName), which is itself empty
	// unless set. Default "".
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
		return Settings{}, fmt.Errorf("users: settings: %w", err)
	}
	return *s, nil
}

// UpdateSettings validates s and saves it: the registration role must exist
// and must not have admin access (ErrRoleNotFound, ErrAdminRole); the filter
// and the password policy are already compiled (ParseFilter,
// ParsePasswordPolicy), so a bad one never gets this far. Nothing is saved
// when s is invalid.
func (m *Manager) UpdateSettings(ctx context.Context, s Settings) (Settings, error) {
	if err := validateProjectName(s.ProjectName); err != nil {
		return Settings{}, fmt.Errorf("users: update settings: %w", err)
	}
	if s.PublicRegistrationRole != nil {
		role, err := m.store.GetRole(ctx, *s.PublicRegistrationRole)
		switch {
		case isNotFound(err):
			return Settings{}, fmt.Errorf("users: update settings: %w", &ValidationError{Field: "public_registration_role", Reason: "names no role", Err: ErrRoleNotFound})
		case err != nil:
			return Settings{}, fmt.Errorf("users: update settings: %w", err)
		case role.AdminAccess:
			return Settings{}, fmt.Errorf("users: update settings: %w", &ValidationError{Field: "public_registration_role", Reason: "must not have admin access", Err: ErrAdminRole})
		}
	}
	doc, err := json.Marshal(s)
	if err != nil {
		return Settings{}, fmt.Errorf("users: update settings: %w", err)
	}
	if err := m.store.SaveSettings(ctx, doc); err != nil {
		return Settings{}, fmt.Errorf("users: update settings: %w", err)
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

// PasswordPolicy is a compiled password rule: a regular expression a new
// password must match. It accepts the ECMAScript syntax Directus uses —
// lookaheads included — either bare or in slashes with flags
// (`/^.{8,}$/`, `/(?=^.{8,}$)(?=.*\d)…/`), and evaluates it with a
// backtracking engine bounded by a match timeout, so a pathological pattern
// cannot stall a request.
type PasswordPolicy struct {
	src string
	re  *regexp2.Regexp
}

// Directus's two presets, accepted as they are.
const (
	PasswordPolicyMinLength = `/^.{8,}$/`
	PasswordPolicyStrong    = `/(?=^.{8,}$)(?=.*\d)(?=.*[a-z])(?=.*[A-Z])(?=.*[!@#$%^&*()_+}{';'?>.<,])(?!.*\s).*$/`
)

const (
	maxPolicyLen     = 1024
	policyMatchLimit = 100 * time.Millisecond
)

var slashForm = regexp.MustCompile(`^/(.*)/([a-z]*)$`)

// ParsePasswordPolicy compiles a password policy. The error is a
// *ValidationError for the field "auth_password_policy".
func ParsePasswordPolicy(src string) (*PasswordPolicy, error) {
	bad := func(reason string) error { return invalid("auth_password_policy", reason) }
	if strings.TrimSpace(src) == "" {
		return nil, bad("must not be empty (use null for no policy)")
	}
	if len(src) > maxPolicyLen {
		return nil, bad("must be at most 1024 characters")
	}
	pattern, opts := src, regexp2.RegexOptions(regexp2.ECMAScript)
	if m := slashForm.FindStringSubmatch(src); m != nil {
		pattern = m[1]
		for _, f := range m[2] {
			switch f {
			case 'i':
				opts |= regexp2.IgnoreCase
			case 'm':
				opts |= regexp2.Multiline
			case 'u', 'g', 'y', 's':
				// u: our input is already Unicode; g, y: no meaning for a
				// whole-string test; s: ECMAScript dotAll — approximate with
				// Singleline.
				if f == 's' {
					opts |= regexp2.Singleline
				}
			default:
				return nil, bad(fmt.Sprintf("has an unknown flag %q", f))
			}
		}
	}
	re, err := regexp2.Compile(pattern, opts)
	if err != nil {
		return nil, bad("is not a valid regular expression: " + err.Error())
	}
	re.MatchTimeout = policyMatchLimit
	return &PasswordPolicy{src: src, re: re}, nil
}

// Match reports whether password satisfies the policy. A match that runs
// past the time limit counts as no match.
func (p *PasswordPolicy) Match(password string) bool {
	ok, err := p.re.MatchString(password)
	return err == nil && ok
}

// String returns the policy as it was given.
func (p *PasswordPolicy) String() string { return p.src }

// MarshalJSON encodes the policy as its source string.
func (p *PasswordPolicy) MarshalJSON() ([]byte, error) { return json.Marshal(p.src) }

// UnmarshalJSON decodes and compiles a policy string.
func (p *PasswordPolicy) UnmarshalJSON(b []byte) error {
	var src string
	if err := json.Unmarshal(b, &src); err != nil {
		return invalid("auth_password_policy", "must be a string")
	}
	q, err := ParsePasswordPolicy(src)
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

// checkPassword applies the shape limits and the policy. The error names
// the rule and never the password.
func checkPassword(s *Settings, pw string) error {
	if err := validatePasswordShape(pw); err != nil {
		return err
	}
	if s.PasswordPolicy != nil && !s.PasswordPolicy.Match(pw) {
		return &ValidationError{Field: "password", Reason: "doesn't match the password policy " + s.PasswordPolicy.String(), Err: ErrPasswordPolicy}
	}
	return nil
}
