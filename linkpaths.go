package users

import (
	"fmt"
	"strings"
)

// LinkPaths are the paths, under the public URL (WithPublicURL), of the
// links the Manager mails when the caller gives no URL of its own. Each is
// an absolute path; the Manager appends ?token=<token>.
type LinkPaths struct {
	// VerifyEmail is the path of the verification link Register mails.
	// Default: /users/register/verify-email (the API route, which verifies
	// on GET).
	VerifyEmail string
	// AcceptInvite is the path of the link Invite mails. Default:
	// /admin/accept-invite (Directus's).
	AcceptInvite string
	// SetPassword is the path of the link mailed when a contested
	// registration is verified (its owner chooses the password; the token
	// is an invite token). Default: /admin/accept-invite.
	SetPassword string
	// ResetPassword is the path of the password-reset link. Default:
	// /admin/reset-password (Directus's).
	ResetPassword string
}

// DefaultLinkPaths returns the paths used when WithLinkPaths is not given.
func DefaultLinkPaths() LinkPaths {
	return LinkPaths{
		VerifyEmail:   "/users/register/verify-email",
		AcceptInvite:  "/admin/accept-invite",
		SetPassword:   "/admin/accept-invite",
		ResetPassword: "/admin/reset-password",
	}
}

// WithLinkPaths sets the paths of the mailed links (see LinkPaths), so that
// they open the pages that serve them (package webui's LinkPaths gives its
// own). An empty field keeps its default; any other must be an absolute
// path ("/…") with no query or fragment. Default: DefaultLinkPaths().
func WithLinkPaths(p LinkPaths) Option {
	return func(c *config) error {
		d := c.links
		for _, f := range []struct {
			name string
			v    string
			dst  *string
		}{
			{"VerifyEmail", p.VerifyEmail, &d.VerifyEmail},
			{"AcceptInvite", p.AcceptInvite, &d.AcceptInvite},
			{"SetPassword", p.SetPassword, &d.SetPassword},
			{"ResetPassword", p.ResetPassword, &d.ResetPassword},
		} {
			if f.v == "" {
				continue
			}
			if !strings.HasPrefix(f.v, "/") || strings.HasPrefix(f.v, "//") || strings.ContainsAny(f.v, "?#\\ \t\r\n") {
				return fmt.Errorf("users: link path %s %q must be an absolute path without query or fragment", f.name, f.v)
			}
			*f.dst = f.v
		}
		c.links = d
		return nil
	}
}

// inviteLinkPath is the default path of an invite-token link of the kind.
func (m *Manager) inviteLinkPath(kind MailKind) string {
	if kind == MailSetPassword {
		return m.links.SetPassword
	}
	return m.links.AcceptInvite
}
