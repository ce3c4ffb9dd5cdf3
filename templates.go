package users

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// MailData is what a mail template sees.
type MailData struct {
	Kind      MailKind
	Link      string // the verification, invite, set-password or reset link, token included
	Email     string // the recipient
	FirstName string // registration only
	LastName  string // registration only
	// ProjectName is the settings' project_name ("" when none is set).
	ProjectName string

	// projectSet: ProjectName was taken from settings the flow had read
	// already, so rendering reads none again (Register must do the same
	// store work on every path; see TestRegisterSameWorkOnEveryPath).
	projectSet bool
}

// withProject returns d with the project name of s.
func (d MailData) withProject(s *Settings) MailData {
	d.ProjectName, d.projectSet = s.ProjectName, true
	return d
}

// Template renders one kind of mail: a subject, a plain-text part and an
// HTML part. The HTML part is an html/template, so every value is escaped
// for its context (a quote in a link cannot break out of its attribute; a
// javascript: link is neutralised). Subjects are fixed strings, so no
// user-supplied value can reach a mail header.
type Template struct {
	Subject string
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

// Templates maps each mail kind to its template. Start from
// DefaultTemplates and replace what you need:
//
//	t := users.DefaultTemplates()
//	t[users.MailInvite] = users.Template{Subject: "Join Acme", Text: …, HTML: …}
//	m, err := users.New(store, mailer, users.WithTemplates(t))
type Templates map[MailKind]Template

// Default subjects.
const (
	SubjectVerifyEmail = "Verify your email address"
	SubjectInvite      = "You've been invited"
	SubjectSetPassword = "Choose your password"
	// SubjectPasswordReset is Directus's subject for the same mail.
	SubjectPasswordReset = "Password Reset Request"
)

const (
	textVerify = `Hello{{with .FirstName}} {{.}}{{end}},

Thanks for registering{{with .ProjectName}} with {{.}}{{end}}. Verify your email address ({{.Email}}) by opening this link:

{{.Link}}

If you did not register, you can ignore this mail.
`
	htmlVerify = `<!DOCTYPE html>
<html><body>
<p>Hello{{with .FirstName}} {{.}}{{end}},</p>
<p>Thanks for registering{{with .ProjectName}} with {{.}}{{end}}. Verify your email address ({{.Email}}) by following this link:</p>
<p><a href="{{.Link}}">Verify email</a></p>
<p>If you did not register, you can ignore this mail.</p>
</body></html>
`
	textInvite = `Hello,

You have been invited{{with .ProjectName}} to join {{.}}{{end}} as {{.Email}}. Accept the invitation and choose your password here:

{{.Link}}
`
	htmlInvite = `<!DOCTYPE html>
<html><body>
<p>Hello,</p>
<p>You have been invited{{with .ProjectName}} to join {{.}}{{end}} as {{.Email}}. Accept the invitation and choose your password here:</p>
<p><a href="{{.Link}}">Accept invite</a></p>
</body></html>
`
	textSetPassword = `Hello,

Your email address ({{.Email}}) was verified, but it was registered more than once with different passwords, so we did not keep any of them. Choose your password here:

{{.Link}}
`
	htmlSetPassword = `<!DOCTYPE html>
<html><body>
<p>Hello,</p>
<p>Your email address ({{.Email}}) was verified, but it was registered more than once with different passwords, so we did not keep any of them. Choose your password here:</p>
<p><a href="{{.Link}}">Choose password</a></p>
</body></html>
`
	textPasswordReset = `Hello,

Someone asked to reset the password of the account with this email address ({{.Email}}). Choose a new password here (the link works once, for one hour):

{{.Link}}

If it was not you, ignore this mail: your password stays as it is.
`
	htmlPasswordReset = `<!DOCTYPE html>
<html><body>
<p>Hello,</p>
<p>Someone asked to reset the password of the account with this email address ({{.Email}}). Choose a new password here (the link works once, for one hour):</p>
<p><a href="{{.Link}}">Reset password</a></p>
<p>If it was not you, ignore this mail: your password stays as it is.</p>
</body></html>
`
)

// DefaultTemplates returns a fresh copy of the built-in templates.
func DefaultTemplates() Templates {
	mk := func(kind MailKind, subject, text, html string) Template {
		return Template{
			Subject: subject,
			Text:    texttemplate.Must(texttemplate.New(string(kind)).Option("missingkey=error").Parse(text)),
			HTML:    htmltemplate.Must(htmltemplate.New(string(kind)).Option("missingkey=error").Parse(html)),
		}
	}
	return Templates{
		MailVerifyEmail:   mk(MailVerifyEmail, SubjectVerifyEmail, textVerify, htmlVerify),
		MailInvite:        mk(MailInvite, SubjectInvite, textInvite, htmlInvite),
		MailSetPassword:   mk(MailSetPassword, SubjectSetPassword, textSetPassword, htmlSetPassword),
		MailPasswordReset: mk(MailPasswordReset, SubjectPasswordReset, textPasswordReset, htmlPasswordReset),
	}
}

func (t Templates) validate() error {
	for _, kind := range []MailKind{MailVerifyEmail, MailInvite, MailSetPassword, MailPasswordReset} {
		tpl, ok := t[kind]
		if !ok {
			return fmt.Errorf("users: templates: no template for %q", kind)
		}
		if tpl.Text == nil || tpl.HTML == nil {
			return fmt.Errorf("users: templates: %q needs both a Text and an HTML template", kind)
		}
		if strings.TrimSpace(tpl.Subject) == "" || strings.ContainsAny(tpl.Subject, "\r\n") {
			return fmt.Errorf("users: templates: %q needs a one-line subject", kind)
		}
	}
	return nil
}

var errRender = errors.New("users: rendering mail")

// render builds a mail of the given kind. The error never includes the
// data (the link holds a token).
func (t Templates) render(kind MailKind, d MailData) (subject, text, html string, err error) {
	tpl := t[kind]
	d.Kind = kind
	var tb, hb strings.Builder
	if err := tpl.Text.Execute(&tb, d); err != nil {
		return "", "", "", fmt.Errorf("%w: %s text template failed", errRender, kind)
	}
	if err := tpl.HTML.Execute(&hb, d); err != nil {
		return "", "", "", fmt.Errorf("%w: %s HTML template failed", errRender, kind)
	}
	return tpl.Subject, tb.String(), hb.String(), nil
}
