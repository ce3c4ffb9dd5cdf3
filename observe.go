package users

import (
	"context"
	"errors"
	"time"
)

// Observer receives what the Manager does, for metrics: flow outcomes,
// mail deliveries, waits and refusals at the hashing limit, and rate-limit
// refusals. Set one with WithObserver.
//
// The library reports through this function type and a plain Observation
// value instead of importing a metrics package, so an application that
// does not collect metrics pulls in nothing, and one that does adapts the
// observations to whatever it uses (examples/server maps them to
// Prometheus counters and histograms with
// github.com/prometheus/client_golang). New kinds and fields may be added;
// an Observer ignores what it does not know.
//
// An Observer is called synchronously, on the goroutine doing the work, so
// it must be fast and must not block; it may be called concurrently. An
// Observation never carries an address, a name, a token or a password.
type Observer func(Observation)

// Observation is one thing an Observer is told. Which fields are set
// depends on Kind.
type Observation struct {
	// Kind is one of the Kind… constants.
	Kind string
	// Flow and Outcome, for KindFlow: one of the Flow… and Outcome…
	// constants.
	Flow, Outcome string
	// Reason, for a refused KindFlow, is a short stable word for the
	// error: "registration_disabled", "email_not_allowed",
	// "url_not_allowed", "password_policy", "invalid_payload",
	// "duplicate_email", "role_not_found", "invalid_token",
	// "token_expired", "token_used", "invalid_credentials",
	// "rate_limited", "busy", "canceled" or "error" (anything else).
	Reason string
	// Mail is the mail's kind, for KindMailSent and KindMailFailed:
	// "verify-email", "invite", "set-password" (the owner of a contested
	// registration chooses the password) or "password-reset", as the
	// outbox keeps it (store.Mail.Kind).
	Mail string
	// Final, for KindMailFailed: the mail was given up.
	Final bool
	// Duration: delivery latency (KindMailSent) or wait (KindHashWait).
	Duration time.Duration
	// Limiter, for KindRateLimited: "mail" (public flows), "admin_mail"
	// (mail an administrator asked for), "login" (failed logins per
	// address), "login_ip" (per address and client IP) or "login_device"
	// (per device cookie).
	Limiter string
}

// What an Observation reports: its kinds, the flows a KindFlow names, and
// the outcomes it reports (the flow's success, or OutcomeRefused).
const (
	// KindFlow: a flow (Flow) ended with Outcome; when refused, Reason
	// says why. Invite reports one observation per address.
	KindFlow = "flow"
	// KindMailSent: a mail of kind Mail was delivered to the Mailer;
	// Duration is the time from when it was queued (delivery latency,
	// retries included).
	KindMailSent = "mail_sent"
	// KindMailFailed: a delivery attempt of a mail of kind Mail failed;
	// Final is true when the mail was given up (permanent error or last
	// attempt), false when it will be retried.
	KindMailFailed = "mail_failed"
	// KindHashWait: a password hash or verification got its slot under
	// the hashing limit after waiting Duration (zero when a slot was
	// free).
	KindHashWait = "hash_wait"
	// KindHashShed: a password hash or verification was refused at once
	// because the hashing queue was full (ErrBusy).
	KindHashShed = "hash_shed"
	// KindRateLimited: a Limiter refused; Limiter names which one.
	KindRateLimited = "rate_limited"

	FlowRegister     = "register"
	FlowVerifyEmail  = "verify_email"
	FlowInvite       = "invite"
	FlowAcceptInvite = "accept_invite"
	FlowCreateUser   = "create_user"
	FlowLogin        = "login"

	OutcomeRegistered    = "registered"    // Register accepted (new or existing address alike)
	OutcomeVerified      = "verified"      // VerifyEmail
	OutcomeInvited       = "invited"       // Invite, per address invited, re-invited or converted
	OutcomeSkipped       = "skipped"       // Invite, per address left alone (already active, suspended…)
	OutcomeAccepted      = "accepted"      // AcceptInvite
	OutcomeCreated       = "created"       // CreateUser
	OutcomeAuthenticated = "authenticated" // Login and Authenticate
	OutcomeRefused       = "refused"       // any flow; see Observation.Reason
)

// observe tells the Observer, if any.
func (m *Manager) observe(o Observation) {
	if m.observer != nil {
		m.observer(o)
	}
}

// observeFlow reports how a flow ended: success when err is nil, else a
// refusal with its reason.
func (m *Manager) observeFlow(flow, success string, err error) {
	if m.observer == nil {
		return
	}
	if err == nil {
		m.observer(Observation{Kind: KindFlow, Flow: flow, Outcome: success})
		return
	}
	m.observer(Observation{Kind: KindFlow, Flow: flow, Outcome: OutcomeRefused, Reason: reasonOf(err)})
}

// reasonOf is the short word a KindFlow observation gives for err (see
// Observation.Reason).
func reasonOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrRegistrationDisabled):
		return "registration_disabled"
	case errors.Is(err, ErrEmailNotAllowed):
		return "email_not_allowed"
	case errors.Is(err, ErrURLNotAllowed):
		return "url_not_allowed"
	case errors.Is(err, ErrPasswordPolicy):
		return "password_policy"
	case errors.Is(err, ErrRoleNotFound):
		return "role_not_found"
	case errors.Is(err, ErrInvalidPayload), errors.Is(err, ErrFailedValidation):
		return "invalid_payload"
	case errors.Is(err, ErrDuplicateEmail):
		return "duplicate_email"
	case errors.Is(err, ErrTokenExpired):
		return "token_expired"
	case errors.Is(err, ErrTokenUsed):
		return "token_used"
	case errors.Is(err, ErrInvalidToken):
		return "invalid_token"
	case errors.Is(err, ErrInvalidCredentials):
		return "invalid_credentials"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}
