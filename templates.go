package users

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// mailData is what a mail template sees (see Template).
type mailData struct {
	Kind        string // "verify-email", "invite", "set-password", "password-reset", "email-change" or "email-change-notice"
	Link        string
	ResetLink   string // email-change-notice: a password-reset link
	NewEmail    string // email-change-notice: the new address, partly hidden
	Email       string
	FirstName   string
	LastName    string
	ProjectName string
	ValidFor    string

	// projectSet: ProjectName was taken from settings the flow had read
	// already, so rendering reads none again (Register must do the same
	// store work on every path; see TestRegisterSameWorkOnEveryPath).
	projectSet bool
}

// withProject returns d with the project name of s.
func (d mailData) withProject(s *Settings) mailData {
	d.ProjectName, d.projectSet = s.ProjectName, true
	return d
}

// Template renders one kind of mail: a subject, a plain-text part and an
// HTML part. The HTML part is an html/template, so every value is escaped
// for its context (a quote in a link cannot break out of its attribute; a
// javascript: link is neutralised). Subjects are fixed strings, so no
// user-supplied value can reach a mail header. A zero field keeps the
// default template's (see Templates); a subject must be one line.
//
// The templates see a value with these fields:
//
//   - Kind: "verify-email", "invite", "set-password" (a contested
//     registration's owner chooses the password), "password-reset",
//     "email-change" (to the new address of an email change: the link
//     confirms it) or "email-change-notice" (to the current address: the
//     link cancels it);
//   - Link: the link to follow, token included;
//   - ResetLink: email-change-notice only: a password-reset link;
//   - NewEmail: email-change-notice only: the new address, its local
//     part hidden but for the first character (n***@example.com);
//   - Email: the recipient;
//   - FirstName, LastName: always empty. A verification mail goes to
//     whatever address was typed, and the names came with it from whoever
//     typed it: a first name such as "locked! reset: https://evil.example"
//     would reach a stranger's inbox inside a genuine mail. No mail shows
//     a name nobody has proved; the fields stay so that templates naming
//     them still render;
//   - ProjectName: the settings' project name ("" when none is set);
//   - ValidFor: how long the link works, in words ("7 days", "1 hour").
//
// A template that names another field fails when the mail is queued.
type Template struct {
	Subject string
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

const (
	textVerify = `Hello,

Thanks for registering{{with .ProjectName}} with {{.}}{{end}}. Verify your email address ({{.Email}}) by opening this link:

{{.Link}}

If you did not register, you can ignore this mail.
`
	htmlVerify = `<!DOCTYPE html>
<html><body>
<p>Hello,</p>
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

Someone asked to reset the password of the account with this email address ({{.Email}}). Choose a new password here (the link works once, for {{.ValidFor}}):

{{.Link}}

If it was not you, ignore this mail: your password stays as it is.
`
	htmlPasswordReset = `<!DOCTYPE html>
<html><body>
<p>Hello,</p>
<p>Someone asked to reset the password of the account with this email address ({{.Email}}). Choose a new password here (the link works once, for {{.ValidFor}}):</p>
<p><a href="{{.Link}}">Reset password</a></p>
<p>If it was not you, ignore this mail: your password stays as it is.</p>
</body></html>
`
)

const (
	textEmailChange = `Hello,

Someone asked to move the account {{with .ProjectName}}at {{.}} {{end}}to this email address ({{.Email}}). Confirm the change here (the link works once, for {{.ValidFor}}):

{{.Link}}

Until then, the account keeps its current address. If it was not you, ignore this mail.
`
	htmlEmailChange = `<!DOCTYPE html>
<html><body>
<p>Hello,</p>
<p>Someone asked to move the account {{with .ProjectName}}at {{.}} {{end}}to this email address ({{.Email}}). Confirm the change here (the link works once, for {{.ValidFor}}):</p>
<p><a href="{{.Link}}">Confirm new address</a></p>
<p>Until then, the account keeps its current address. If it was not you, ignore this mail.</p>
</body></html>
`
	textEmailChangeNotice = `Hello,

Someone asked to move your account{{with .ProjectName}} at {{.}}{{end}} ({{.Email}}) to another address: {{.NewEmail}}. Nothing changes until the new address confirms it.

If it was not you, cancel the change here (this also signs out every session of your account):

{{.Link}}

and choose a new password here (the link works once, for {{.ValidFor}}):

{{.ResetLink}}
`
	htmlEmailChangeNotice = `<!DOCTYPE html>
<html><body>
<p>Hello,</p>
<p>Someone asked to move your account{{with .ProjectName}} at {{.}}{{end}} ({{.Email}}) to another address: {{.NewEmail}}. Nothing changes until the new address confirms it.</p>
<p>If it was not you, cancel the change (this also signs out every session of your account) and choose a new password (each link works once, for {{.ValidFor}}):</p>
<p><a href="{{.Link}}">Cancel the change</a></p>
<p><a href="{{.ResetLink}}">Reset password</a></p>
</body></html>
`
)

// defaultTemplates returns the built-in templates.
func defaultTemplates() Templates {
	mk := func(kind mailKind, subject, text, html string) Template {
		return Template{
			Subject: subject,
			Text:    texttemplate.Must(texttemplate.New(string(kind)).Option("missingkey=error").Parse(text)),
			HTML:    htmltemplate.Must(htmltemplate.New(string(kind)).Option("missingkey=error").Parse(html)),
		}
	}
	return Templates{
		VerifyEmail:   mk(mailVerifyEmail, "Verify your email address", textVerify, htmlVerify),
		Invite:        mk(mailInvite, "You've been invited", textInvite, htmlInvite),
		SetPassword:   mk(mailSetPassword, "Choose your password", textSetPassword, htmlSetPassword),
		PasswordReset: mk(mailPasswordReset, "Password Reset Request", textPasswordReset, htmlPasswordReset), // Directus's subject
		EmailChange:   mk(mailEmailChange, "Confirm your new email address", textEmailChange, htmlEmailChange),
		EmailChangeNotice: mk(mailEmailChangeNotice, "Your email address is about to change",
			textEmailChangeNotice, htmlEmailChangeNotice),
	}
}

// byKind returns the template of a kind of mail.
func (t *Templates) byKind(kind mailKind) *Template {
	switch kind {
	case mailInvite:
		return &t.Invite
	case mailSetPassword:
		return &t.SetPassword
	case mailPasswordReset:
		return &t.PasswordReset
	case mailEmailChange:
		return &t.EmailChange
	case mailEmailChangeNotice:
		return &t.EmailChangeNotice
	}
	return &t.VerifyEmail
}

var errRender = errors.New("users: rendering mail")

// render builds a mail of the given kind. The error never includes the
// data (the link holds a token).
func (t *Templates) render(kind mailKind, d mailData) (subject, text, html string, err error) {
	tpl := t.byKind(kind)
	d.Kind = string(kind)
	var tb, hb strings.Builder
	if err := tpl.Text.Execute(&tb, d); err != nil {
		return "", "", "", fmt.Errorf("%w: %s text template failed", errRender, kind)
	}
	if err := tpl.HTML.Execute(&hb, d); err != nil {
		return "", "", "", fmt.Errorf("%w: %s HTML template failed", errRender, kind)
	}
	return tpl.Subject, tb.String(), hb.String(), nil
}
