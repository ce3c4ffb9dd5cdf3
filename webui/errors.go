package webui

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users"
)

// problem is an error as a page shows it: a message, next to a field when
// Field is set (else at the top of the form), and the status to answer.
type problem struct {
	Field  string
	Msg    string
	Status int
	// Internal marks an unexpected error: logged, shown as a generic
	// message.
	Internal bool
}

// fieldLabels are the visible labels of the form fields, by field name
// (the Manager's wire names), to word validation errors.
var fieldLabels = map[string]string{
	"email":                            "Email",
	"password":                         "Password",
	"current_password":                 "Current Password",
	"otp":                              "Code",
	"tfa_code":                         "Code",
	"tfa_off_code":                     "Code",
	"tfa_new_code":                     "Code",
	"tfa_password":                     "Password",
	"secret":                           "Secret",
	"first_name":                       "First Name",
	"last_name":                        "Last Name",
	"status":                           "Status",
	"role":                             "Role",
	"emails":                           "Emails",
	"account_status":                   "Account Status",
	"name":                             "Name",
	"public_registration_role":         "Role",
	"public_registration_email_filter": "Email Filter",
	"auth_password_policy":             "Password Policy",
	"auth_password_policy_description": "Password Policy Description",
	"project_name":                     "Project Name",
}

// explain maps an error from the Manager to what a page shows. It is the
// one place where errors become words.
func explain(err error) problem {
	var (
		ve *users.ValidationError
		rl *users.RateLimitError
	)
	switch {
	case errors.Is(err, users.ErrTokenExpired):
		return problem{Field: "token", Msg: "This link has expired.", Status: http.StatusGone}
	case errors.Is(err, users.ErrTokenUsed):
		return problem{Field: "token", Msg: "This link was already used.", Status: http.StatusGone}
	case errors.Is(err, users.ErrInvalidToken):
		return problem{Field: "token", Msg: "This link is not valid: it may have been replaced by a newer one, or copied incompletely.", Status: http.StatusNotFound}
	case errors.Is(err, users.ErrInvalidOTP):
		return problem{Field: "otp", Msg: "This account signs in with a two-factor code: enter the current code from your authenticator app, or an unused recovery code. A code works once.", Status: http.StatusUnauthorized}
	case errors.Is(err, users.ErrTwoFactorRequired):
		return problem{Msg: "Your role requires two-factor sign-in: set it up on your account page before you use the console.", Status: http.StatusForbidden}
	case errors.Is(err, users.ErrInvalidCredentials):
		return problem{Msg: "Wrong email or password.", Status: http.StatusUnauthorized}
	case errors.As(err, &rl):
		return problem{Msg: "Too many attempts. Try again " + inAbout(rl.RetryAfter) + ".", Status: http.StatusTooManyRequests}
	case errors.Is(err, users.ErrRateLimited):
		return problem{Msg: "Too many attempts. Try again later.", Status: http.StatusTooManyRequests}
	case errors.Is(err, users.ErrBusy):
		return problem{Msg: "The server is busy. Try again in a moment.", Status: http.StatusServiceUnavailable}
	case errors.Is(err, users.ErrRegistrationDisabled):
		return problem{Msg: "Registration is closed.", Status: http.StatusForbidden}
	case errors.Is(err, users.ErrEmailNotAllowed):
		return problem{Field: "email", Msg: "This email address is not allowed to register.", Status: http.StatusForbidden}
	case errors.Is(err, users.ErrDuplicateEmail):
		return problem{Field: "email", Msg: "A user with this email already exists.", Status: http.StatusConflict}
	case errors.Is(err, users.ErrDuplicateID):
		return problem{Msg: "A record with this id already exists.", Status: http.StatusConflict}
	case errors.Is(err, users.ErrLastAdmin):
		return problem{Msg: "This would leave no active user with admin access, so nothing was changed.", Status: http.StatusConflict}
	case errors.Is(err, users.ErrAdminRole):
		return problem{Field: "public_registration_role", Msg: "Choose a role without admin access: registered users must not become administrators.", Status: http.StatusUnprocessableEntity}
	case errors.Is(err, users.ErrUserNotFound):
		return problem{Msg: "This user no longer exists.", Status: http.StatusNotFound}
	case errors.As(err, &ve):
		f := ve.Field
		reason := ve.Reason
		if label, ok := fieldLabels[f]; ok && !strings.HasPrefix(reason, label) {
			reason = label + " " + reason
		}
		if errors.Is(err, users.ErrRoleNotFound) {
			reason = "This role no longer exists."
		}
		return problem{Field: f, Msg: sentence(reason), Status: http.StatusUnprocessableEntity}
	case errors.Is(err, users.ErrRoleNotFound):
		return problem{Msg: "This role no longer exists.", Status: http.StatusNotFound}
	}
	return problem{Msg: "Something went wrong on our side. Try again later.", Status: http.StatusInternalServerError, Internal: true}
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func inAbout(d time.Duration) string {
	switch {
	case d <= time.Minute:
		return "in a minute"
	case d < time.Hour:
		return fmt.Sprintf("in %d minutes", int((d+time.Minute-1)/time.Minute))
	default:
		return fmt.Sprintf("in %d hours", int((d+time.Hour-1)/time.Hour))
	}
}

// fail shows err on page p (re-rendering it with the submitted values),
// logging it when unexpected. A field-level message goes next to its
// field when the page has that field (fields lists them), else at the top.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, name string, p *page, err error, fields ...string) {
	pr := explain(err)
	if pr.Internal {
		h.cfg.log.ErrorContext(r.Context(), "webui: unexpected error", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	place(p, pr, fields...)
	h.render(w, r, pr.Status, name, p)
}

// failOn explains err for page p, which the caller re-renders with the
// answer's status: it places the message on p as place does and returns
// the explanation. An unexpected error instead gets the generic message
// page (titled title, the error logged) and ok false: the caller has
// nothing left to do.
func (h *handler) failOn(w http.ResponseWriter, r *http.Request, title string, p *page, err error, fields ...string) (pr problem, ok bool) {
	pr = explain(err)
	if pr.Internal {
		h.fail(w, r, "message", &page{Title: title}, err)
		return pr, false
	}
	place(p, pr, fields...)
	return pr, true
}

// place puts pr's message on p: next to its field when the page has that
// field (fields lists them), else at the top of the form (Alert). It is
// always shown somewhere, and messages already on p stay.
func place(p *page, pr problem, fields ...string) {
	if pr.Field != "" && slices.Contains(fields, pr.Field) {
		if p.Errors == nil {
			p.Errors = map[string]string{}
		}
		p.Errors[pr.Field] = pr.Msg
		return
	}
	p.Alert = pr.Msg
}
