package users

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"time"
)

// Option configures a Manager: pass options to New. The With… functions
// set one thing each; Links, Lifetimes, Limits, Delivery, HealthThresholds
// and Templates are Options themselves, each grouping related settings.
// Options apply in order: a later one overrides what an earlier one set.
type Option interface {
	apply(*config) error
}

// optionFunc is the Option a With… function returns.
type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// config is what the options set: New starts from the defaults, applies
// the options in order, checks the result and builds the Manager from it.
type config struct {
	hasher      Hasher
	now         func() time.Time
	log         *slog.Logger
	observer    Observer
	projectName string
	secret      []byte
	links       Links
	lifetimes   Lifetimes
	limits      *Limits // nil: the Manager's own defaults, on its clock
	delivery    Delivery
	health      HealthThresholds
	templates   Templates
	hooks       Hooks
}

// defaultConfig is what New starts from.
func defaultConfig() config {
	return config{
		hasher:    Argon2id{},
		now:       time.Now,
		log:       slog.Default(),
		links:     Links{PublicURL: "http://localhost:8055"}.withDefaultPaths(),
		lifetimes: defaultLifetimes(),
		delivery:  defaultDelivery(),
		health:    defaultHealthThresholds(),
		templates: defaultTemplates(),
	}
}

// optionError is New's refusal of an option's value: a *ValidationError
// whose Field names the option and its field ("Links.RegisterURLs",
// "Lifetimes.Refresh", "WithSecret"), which the message starts with.
func optionError(field string, sentinel error, format string, a ...any) error {
	return &ValidationError{Field: field, Reason: field + ": " + fmt.Sprintf(format, a...), Err: sentinel, whole: true}
}

// check validates what the options set, in the order of the fields, and
// fills the Manager's own default limits. It reports the first bad value.
func (c *config) check() error {
	if err := c.links.check(); err != nil {
		return err
	}
	if err := c.lifetimes.check(); err != nil {
		return err
	}
	if c.limits == nil {
		l := defaultLimits(c.now)
		c.limits = &l
	} else if err := c.limits.check(); err != nil {
		return err
	}
	if err := c.delivery.check(); err != nil {
		return err
	}
	if err := c.health.check(); err != nil {
		return err
	}
	if err := c.hooks.check(); err != nil {
		return err
	}
	return c.templates.check()
}

// nonNil is the Option of a With… function whose value must not be nil:
// set stores it.
func nonNil(name string, isNil bool, set func(*config)) Option {
	return optionFunc(func(c *config) error {
		if isNil {
			return optionError(name, nil, "must not be nil")
		}
		set(c)
		return nil
	})
}

// WithClock sets the clock. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return nonNil("WithClock", now == nil, func(c *config) { c.now = now })
}

// WithLogger sets the logger. Default: slog.Default(). The Manager logs
// delivery failures and nothing secret.
func WithLogger(l *slog.Logger) Option {
	return nonNil("WithLogger", l == nil, func(c *config) { c.log = l })
}

// WithHasher sets the password hasher. Default: Argon2id{} (its default
// parameters). An Argon2id's parameters are checked here. Tests may use
// the fast, insecure userstest.Hasher.
func WithHasher(h Hasher) Option {
	return optionFunc(func(c *config) error {
		if h == nil {
			return optionError("WithHasher", nil, "must not be nil")
		}
		if a, ok := argon2idOf(h); ok {
			if err := a.params().validate(); err != nil {
				return optionError("WithHasher", nil, "%s", strings.TrimPrefix(err.Error(), "users: "))
			}
		}
		c.hasher = h
		return nil
	})
}

// WithObserver sets the Observer told about flows, deliveries, hashing
// waits and rate-limit refusals. Default: none.
func WithObserver(o Observer) Option {
	return nonNil("WithObserver", o == nil, func(c *config) { c.observer = o })
}

// WithProjectName sets the project name used when the stored settings
// carry none (Settings.ProjectName is empty): Settings reports it, and
// mails show it. It is validated as Settings.ProjectName is. Default: ""
// (mails then read "You have been invited", without a name).
func WithProjectName(name string) Option {
	return optionFunc(func(c *config) error {
		if err := validateProjectName(name); err != nil {
			var ve *ValidationError
			errors.As(err, &ve)
			return optionError("WithProjectName", nil, "%s", ve.Message())
		}
		c.projectName = name
		return nil
	})
}

// WithSecret sets the key that signs access tokens (HS256) and, derived
// from it, device cookies — Directus's SECRET. It must be at least
// MinSecretBytes long. Default: 32 random bytes drawn when the Manager is
// built, so tokens do not survive a restart and are not accepted by
// another instance: set it whenever several instances serve one Store.
func WithSecret(secret []byte) Option {
	return optionFunc(func(c *config) error {
		if len(secret) < MinSecretBytes {
			return optionError("WithSecret", nil, "the secret must be at least %d bytes, not %d", MinSecretBytes, len(secret))
		}
		c.secret = append([]byte(nil), secret...)
		return nil
	})
}

// Links is an Option: pass it to New. It says where the links the Manager
// mails point. A zero field keeps its default, so an application sets
// only what it changes; a later Links overrides an earlier one's non-empty
// fields, and the URLs of the allow-lists accumulate.
//
// A link is a URL with token=<token> added to its query: the URL the
// caller gave (Register's verification URL, Invite's invite URL,
// RequestPasswordReset's reset URL), which must be on the flow's
// allow-list, or else the public URL followed by the flow's path.
//
// An allow-list entry is an absolute URL; a candidate is allowed when its
// scheme, host, port and path equal an entry's and its query and fragment
// are exactly the entry's (none when the entry has none). The query and
// fragment are compared, not ignored as Directus ignores them, because a
// verification URL comes from whoever registers, for any address:
// anything it may carry beyond what the entry names
// ("?next=https://evil.example", "#/other-route") would reach a stranger's
// inbox inside a genuine mail from the application. An application that
// needs a parameter in its links lists the exact URL, parameter included.
//
// A candidate is parsed strictly and refused outright when it has
// userinfo ("https://good.com@evil.com"), a backslash, a control
// character, a space, an invisible Unicode character or invalid UTF-8; a
// scheme that runs code or reads local data (javascript, data, file…);
// no scheme, an opaque form ("https:evil.com") or, for http and https, no
// host; a host with percent-encoding, a trailing dot or an empty label; a
// "." or ".." path segment. Schemes and ASCII letters of hosts compare
// case-insensitively; non-ASCII host characters byte for byte, so a
// look-alike host never matches (list an internationalised host in its
// punycode form as well if both occur). Default ports are normalised; the
// path compares exactly as written, escapes included. Schemes other than
// http and https (a mobile app's "myapp://callback") match only in the
// exact form an entry gives.
//
// An http or https entry may start its host with one wildcard label,
// "https://*.preview.example.com/verify", for preview deployments: it
// matches exactly one more DNS label of letters, digits and hyphens
// ("https://pr-12.preview.example.com/verify"), never zero nor two. The
// part after "*." needs at least two labels. A wildcard under a shared
// domain ("*.github.io", "*.vercel.app") lets anyone with a site there in:
// list your own domains only.
//
// New refuses an entry that is not such a URL with a *ValidationError
// matching ErrURLNotAllowed, naming the field and the entry.
type Links struct {
	// PublicURL is the application's public URL, the base of the default
	// links: an absolute http(s) URL. Default: http://localhost:8055
	// (Directus's default).
	PublicURL string

	// RegisterURLs are the URLs Register and ResendVerification accept
	// as the verification URL (Directus's USER_REGISTER_URL_ALLOW_LIST).
	// Default: none.
	RegisterURLs []string
	// InviteURLs are the URLs Invite accepts as the invite URL
	// (USER_INVITE_URL_ALLOW_LIST). Default: none.
	InviteURLs []string
	// PasswordResetURLs are the URLs RequestPasswordReset accepts as the
	// reset URL (PASSWORD_RESET_URL_ALLOW_LIST). Default: none.
	PasswordResetURLs []string
	// EmailChangeURLs are the URLs RequestEmailChange accepts as the
	// confirm URL. Default: none.
	EmailChangeURLs []string

	// The paths, under PublicURL, of the links mailed when the caller
	// gives no URL of its own: absolute paths ("/…") without query or
	// fragment. Package webui's LinkPaths gives the paths of its pages.
	//
	// VerifyEmailPath: the verification link Register mails. Default:
	// /users/register/verify-email (the API route, which verifies on GET).
	VerifyEmailPath string
	// AcceptInvitePath: the link Invite mails. Default:
	// /admin/accept-invite (Directus's).
	AcceptInvitePath string
	// SetPasswordPath: the link mailed when a contested registration is
	// verified (its owner chooses the password; the token is an invite
	// token). Default: /admin/accept-invite.
	SetPasswordPath string
	// ResetPasswordPath: the password-reset link. Default:
	// /admin/reset-password (Directus's).
	ResetPasswordPath string
	// ConfirmEmailPath: the link that confirms an email change, mailed to
	// the new address. Default: /admin/confirm-email.
	ConfirmEmailPath string
	// CancelEmailChangePath: the link that cancels an email change, mailed
	// to the current address. Default: /admin/cancel-email-change.
	CancelEmailChangePath string
}

func (l Links) apply(c *config) error {
	d := &c.links
	reg, inv, reset, change := d.RegisterURLs, d.InviteURLs, d.PasswordResetURLs, d.EmailChangeURLs
	overlay(d, l)
	d.RegisterURLs = append(reg, l.RegisterURLs...)
	d.InviteURLs = append(inv, l.InviteURLs...)
	d.PasswordResetURLs = append(reset, l.PasswordResetURLs...)
	d.EmailChangeURLs = append(change, l.EmailChangeURLs...)
	return nil
}

func (l Links) withDefaultPaths() Links {
	l.VerifyEmailPath = "/users/register/verify-email"
	l.AcceptInvitePath = "/admin/accept-invite"
	l.SetPasswordPath = "/admin/accept-invite"
	l.ResetPasswordPath = "/admin/reset-password"
	l.ConfirmEmailPath = "/admin/confirm-email"
	l.CancelEmailChangePath = "/admin/cancel-email-change"
	return l
}

func (l *Links) check() error {
	p, err := url.Parse(l.PublicURL)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return optionError("Links.PublicURL", nil, "%q must be an absolute http(s) URL", l.PublicURL)
	}
	l.PublicURL = strings.TrimRight(l.PublicURL, "/")
	for _, f := range []struct{ name, v string }{
		{"VerifyEmailPath", l.VerifyEmailPath},
		{"AcceptInvitePath", l.AcceptInvitePath},
		{"SetPasswordPath", l.SetPasswordPath},
		{"ResetPasswordPath", l.ResetPasswordPath},
		{"ConfirmEmailPath", l.ConfirmEmailPath},
		{"CancelEmailChangePath", l.CancelEmailChangePath},
	} {
		if !strings.HasPrefix(f.v, "/") || strings.HasPrefix(f.v, "//") || strings.ContainsAny(f.v, "?#\\ \t\r\n") {
			return optionError("Links."+f.name, nil, "%q must be an absolute path without query or fragment", f.v)
		}
	}
	for _, f := range []struct {
		name    string
		entries []string
	}{{"RegisterURLs", l.RegisterURLs}, {"InviteURLs", l.InviteURLs}, {"PasswordResetURLs", l.PasswordResetURLs},
		{"EmailChangeURLs", l.EmailChangeURLs}} {
		if _, err := newAllowList(f.entries...); err != nil {
			var ve *ValidationError
			errors.As(err, &ve)
			return optionError("Links."+f.name, ErrURLNotAllowed, "%s", ve.Message())
		}
	}
	return nil
}

// Lifetimes is an Option: pass it to New. It sets how long tokens and
// sessions live. A zero field keeps its default; a later Lifetimes
// overrides an earlier one's non-zero fields. None may be negative.
type Lifetimes struct {
	// VerifyEmail: a verification link Register mails. Default: 7 days.
	VerifyEmail time.Duration
	// Invite: an invitation link (and the set-password link of a
	// contested registration). Default: 7 days.
	Invite time.Duration
	// PasswordReset: a password-reset link. Default: 1 hour.
	PasswordReset time.Duration
	// EmailChange: the links an email change mails (confirm, cancel).
	// Default: 1 hour.
	EmailChange time.Duration
	// Access: an access token (Directus's ACCESS_TOKEN_TTL); at least 1s.
	// Default: 15 minutes.
	Access time.Duration
	// Refresh: a session after its last refresh (REFRESH_TOKEN_TTL); not
	// shorter than Access. Default: 7 days.
	Refresh time.Duration
	// RenewalGrace: how long after a session-cookie token was renewed it
	// still renews, to a token of the session's current generation, so
	// that requests a client sent at once with the same expired cookie do
	// not end its session; a renewed token presented later ends the
	// session (SESSION_REFRESH_GRACE_PERIOD); at most Access. Default: 10
	// seconds, as Directus.
	RenewalGrace time.Duration
}

func defaultLifetimes() Lifetimes {
	return Lifetimes{VerifyEmail: 7 * 24 * time.Hour, Invite: 7 * 24 * time.Hour, PasswordReset: time.Hour, EmailChange: time.Hour,
		Access: 15 * time.Minute, Refresh: 7 * 24 * time.Hour, RenewalGrace: 10 * time.Second}
}

func (l Lifetimes) apply(c *config) error {
	overlay(&c.lifetimes, l)
	return nil
}

func (l Lifetimes) check() error {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"VerifyEmail", l.VerifyEmail}, {"Invite", l.Invite}, {"PasswordReset", l.PasswordReset}, {"EmailChange", l.EmailChange}, {"Access", l.Access}, {"Refresh", l.Refresh}, {"RenewalGrace", l.RenewalGrace}} {
		if f.v < 0 {
			return optionError("Lifetimes."+f.name, nil, "must not be negative, not %v", f.v)
		}
	}
	if l.Access < time.Second {
		return optionError("Lifetimes.Access", nil, "must be at least 1s, not %v", l.Access)
	}
	if l.Refresh < l.Access {
		return optionError("Lifetimes.Refresh", nil, "(%v) must not be shorter than Lifetimes.Access (%v)", l.Refresh, l.Access)
	}
	if l.RenewalGrace > l.Access {
		return optionError("Lifetimes.RenewalGrace", nil, "(%v) must not be longer than Lifetimes.Access (%v)", l.RenewalGrace, l.Access)
	}
	return nil
}

// Limits is an Option: pass it to New. It bounds password work and rate
// limits mail and logins. Unlike the other option structs, a Limits is
// taken whole, because its zero values mean something (a queue of 0: never
// wait; a nil Limiter: no limit): start from DefaultLimits and change the
// fields you need. Without a Limits option, the Manager uses the defaults
// of DefaultLimits, with its memory limiters on the Manager's clock
// (WithClock); DefaultLimits' own limiters run on time.Now.
//
// The memory limiters count per process: several instances of an
// application each allow the limit. Pass a shared Limiter (pgstore's and
// mysqlstore's NewLimiter, or one on your own database or Redis) to
// limit across instances.
type Limits struct {
	// HashConcurrency bounds password work — checking a new password
	// against the policy, hashing it, verifying one (Register,
	// Authenticate, AcceptInvite, CreateUser, UpdateUser): at most this
	// many calls do it at once. Each running argon2id hash holds its
	// Memory parameter (19 MiB by default), so it bounds the memory a burst
	// of logins or registrations takes. At least 1. Default:
	// runtime.NumCPU().
	HashConcurrency int
	// HashQueue is how many more calls may wait for a slot, as long as
	// their expected wait stays within HashWaitBudget. Any other call fails
	// at once with a *BusyError (ErrBusy; HTTP 503 with Retry-After)
	// estimating the wait. A waiting call gives up when its ctx is done,
	// with ctx's error, having written nothing; one whose ctx deadline
	// comes before its expected turn is refused at once. At least 0 (0:
	// never wait). Default: 1024.
	//
	// The slots and the queue are shared fairly between clients — client
	// IPs (LoginInput.IP, or the IP of the call's RequestInfo, see
	// WithRequest), an IPv6 address counting by its /64; calls without an
	// IP are one client. A client alone may use them all, but a freed slot
	// goes to the waiting client that holds the fewest, and a call
	// arriving at a full queue takes the place of the newest waiting call
	// of the client with the most waiting calls, when that client waits
	// with at least two more than the caller's own (that call is refused
	// with a *BusyError). A client's expected wait counts its own calls
	// ahead of it, each a turn shared with the other clients that wait —
	// (own calls ahead + 1) × clients waiting turns, at most one per call
	// waiting. So one client's flood — logins
	// for ever-new addresses, say — fills its own share: another client's
	// call waits about one hash per client that wants slots, not behind
	// the flood. A login presenting a valid device cookie of its address
	// (see Login) goes ahead of strangers' calls (of clients holding no
	// fewer slots than its own, its own client's included) and, at a full
	// queue, takes a stranger's place. Whoever controls many IPs still
	// gets a share per IP: keep LoginIPTotal, and a per-IP limit in front
	// (httpapi.WithRateLimiter).
	HashQueue int
	// HashWaitBudget is how long a call may expect to take at the hashing
	// limit, its wait and its own hash: a call that finds every slot taken
	// joins the queue only while its turns (with one client, calls already
	// waiting + 1; see HashQueue) × the measured duration of a hash ÷
	// HashConcurrency, plus one hash, is at most this; otherwise it is
	// refused at once with a *BusyError whose
	// RetryAfter is the expected wait. The duration of a hash is a moving
	// average of the hashes this Manager ran, starting from the ones New
	// runs. At least 0 (0: never wait). Default: 5 seconds.
	HashWaitBudget time.Duration
	// FailedLoginMinimum is a lower bound on how long the password check
	// of a failed login takes (see Login: failed logins are padded to the
	// learned cost of the slowest parameter set in use; this bound applies
	// before any has been learned). Set it to the verification time of
	// the slowest hash parameters your store may hold — for users imported
	// from Directus, its m=65536,t=3,p=4 — to hide them from the first
	// probe after a start. From 0 to 1 minute. Default: 0 (learned only).
	FailedLoginMinimum time.Duration
	// RequestStall is the least time RequestPasswordReset and
	// ResendVerification take, whatever the path: for an address with an
	// account they commit a write, for the others the store refuses it
	// before writing, and a database tells the two apart by a fraction of
	// a millisecond — enough for one request to tell whether an address
	// has an account. Each call is padded to this time (as Directus pads
	// its password request); set it above the time the call takes on
	// your store under load. From 0 to 10 seconds (0: no padding).
	// Default: 250 ms.
	RequestStall time.Duration

	// Mail limits the mails that anonymous requests make the Manager
	// queue (Register's and ResendVerification's), per recipient, keyed by
	// the normalised address (NormalizeEmail). Over the limit the
	// operation still makes its change but queues no mail and mints no
	// token, so the links already sent stay valid, and Register answers as
	// usual. Register consults it on every path that passed its checks,
	// whether or not the address exists, so that its work never depends on
	// it; but only a registration that mails the address (a new or still
	// unverified one) counts against the address. The mail held back is
	// logged at Info level with the user id, never the address. The
	// set-password mail of a contested registration is not limited: each
	// one answers a verification link that was itself counted. Default: 5
	// mails per address in any hour.
	Mail Limiter
	// AdminMail limits the mails an administrator's actions queue
	// (Invite, ResendVerificationFor), per recipient, apart from Mail, so
	// that anonymous requests can never use up what an administrator needs;
	// it guards against a runaway script. Over the limit Invite still makes
	// its change but queues no mail and mints no token, and reports
	// ErrRateLimited in that address's InviteResult.Err. Default: 10 mails
	// per address in any hour.
	AdminMail Limiter
	// Login limits login attempts per address from unknown devices
	// (attempts that present no device cookie issued to that address; see
	// Login), keyed by the normalised address. Login and Authenticate
	// consult it before looking the user up, for every well-formed address
	// — existing or not, so that a refusal reveals nothing — and over the
	// limit return a *RateLimitError (ErrRateLimited) without hashing. A
	// successful login from an unknown device, and a password reset, reset
	// the address's count; wrong current passwords given to ChangePassword
	// count too. Strangers can use this limit up, locking the address for
	// unknown devices only: devices that logged in before are limited per
	// device (Device). Default: 10 attempts per address in any 15 minutes.
	Login Limiter
	// LoginIP limits login attempts per client IP and address (keyed
	// "<IP> <normalised address>") from unknown devices. Over the limit,
	// Login answers a *RateLimitError without hashing; a successful login
	// resets the key. Attempts without an IP (LoginInput.IP empty, and
	// Authenticate) skip it. Default: 5 attempts per address from one IP
	// in any 15 minutes.
	LoginIP Limiter
	// LoginIPTotal limits login attempts from unknown devices per client
	// IP, whatever the address (keyed by the IP, an IPv6 address by its
	// /64): LoginIP counts per address, so a client trying ever-new
	// addresses is limited by this one alone. Asked first, before the
	// other login limits and before any hashing; over it, Login answers a
	// *RateLimitError. Every attempt it lets through counts, successful
	// ones too (a Limiter cannot take an event back, and counting only
	// after the password check would let a burst of simultaneous attempts
	// past it); a success does not reset it. Attempts from a known device
	// (Device) and without an IP skip it. Default: 1,000 attempts per IP
	// in any 15 minutes: since successes count, the default leaves room
	// for an office or campus behind one address signing in at once,
	// while a client spraying addresses gets about one guess a second.
	LoginIPTotal Limiter
	// Device limits login attempts per device cookie, for attempts that
	// present a device cookie issued to the address they name (such
	// attempts skip LoginIP and Login). A successful login resets the key.
	// Default: 10 attempts per device in any 15 minutes.
	Device Limiter
	// ResetRequestIP limits RequestPasswordReset per client IP (the IP of
	// the call's RequestInfo, see WithRequest; an IPv6 address by its
	// /64), whatever the address: over it, the call answers a
	// *RateLimitError before looking anything up (httpapi: 429). Calls
	// without an IP skip it. Mail stays limited per address (Mail).
	// Default: 10 requests per IP in any 15 minutes.
	ResetRequestIP Limiter
}

// DefaultLimits returns the default Limits, with new memory limiters on
// time.Now: start from it to change some of them.
//
//	l := users.DefaultLimits()
//	l.HashConcurrency = 2
//	l.Login = pgstore.NewLimiter(…)
//	m, err := users.New(st, mailer, l)
func DefaultLimits() Limits { return defaultLimits(nil) }

// defaultLimits is DefaultLimits with its memory limiters on now (nil:
// time.Now).
func defaultLimits(now func() time.Time) Limits {
	return Limits{
		HashConcurrency: runtime.NumCPU(),
		HashQueue:       1024,
		HashWaitBudget:  5 * time.Second,
		RequestStall:    250 * time.Millisecond,
		Mail:            &MemoryLimiter{Points: 5, Window: time.Hour, Now: now},
		AdminMail:       &MemoryLimiter{Points: 10, Window: time.Hour, Now: now},
		Login:           &MemoryLimiter{Points: 10, Window: 15 * time.Minute, Now: now},
		LoginIP:         &MemoryLimiter{Points: 5, Window: 15 * time.Minute, Now: now},
		LoginIPTotal:    &MemoryLimiter{Points: 1000, Window: 15 * time.Minute, Now: now},
		Device:          &MemoryLimiter{Points: 10, Window: 15 * time.Minute, Now: now},
		ResetRequestIP:  &MemoryLimiter{Points: 10, Window: 15 * time.Minute, Now: now},
	}
}

func (l Limits) apply(c *config) error {
	c.limits = &l
	return nil
}

func (l *Limits) check() error {
	switch {
	case l.HashConcurrency < 1:
		return optionError("Limits.HashConcurrency", nil, "must be at least 1, not %d (start from DefaultLimits)", l.HashConcurrency)
	case l.HashQueue < 0:
		return optionError("Limits.HashQueue", nil, "must not be negative, not %d", l.HashQueue)
	case l.HashWaitBudget < 0:
		return optionError("Limits.HashWaitBudget", nil, "must not be negative, not %v", l.HashWaitBudget)
	case l.FailedLoginMinimum < 0 || l.FailedLoginMinimum > time.Minute:
		return optionError("Limits.FailedLoginMinimum", nil, "must be between 0 and 1m, not %v", l.FailedLoginMinimum)
	case l.RequestStall < 0 || l.RequestStall > 10*time.Second:
		return optionError("Limits.RequestStall", nil, "must be between 0 and 10s, not %v", l.RequestStall)
	}
	for _, f := range []struct {
		name string
		l    Limiter
	}{{"Mail", l.Mail}, {"AdminMail", l.AdminMail}, {"Login", l.Login}, {"LoginIP", l.LoginIP},
		{"LoginIPTotal", l.LoginIPTotal}, {"Device", l.Device}, {"ResetRequestIP", l.ResetRequestIP}} {
		if ml, ok := f.l.(*MemoryLimiter); ok && ml != nil {
			if err := ml.check(); err != nil {
				return optionError("Limits."+f.name, nil, "%s", strings.TrimPrefix(err.Error(), "users: "))
			}
		}
	}
	return nil
}

// Delivery is an Option: pass it to New. It is the outbox's delivery
// policy. A zero field keeps its default; a later Delivery overrides an
// earlier one's non-zero fields.
type Delivery struct {
	// MaxAttempts is how many times a mail is tried before it is marked
	// failed. Default 8.
	MaxAttempts int
	// InitialBackoff is the wait after the first failure; it doubles after
	// each further failure (with up to 10% jitter) up to MaxBackoff.
	// Defaults 30s and 1h: eight attempts span about an hour and a half.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Lease is how long a claimed mail is reserved for the worker that
	// claimed it; a mail whose worker died is retried once its lease ends.
	// It must exceed SendTimeout. Default 5m.
	Lease time.Duration
	// SendTimeout bounds one Mailer.Send. Default 1m.
	SendTimeout time.Duration
	// BatchSize is how many mails one claim takes. Default 50.
	BatchSize int
	// Concurrency is how many mails are sent at once. Default 4.
	Concurrency int
	// PollInterval is how often Run looks for due mails when nothing nudged
	// it (mails queued by this process nudge it at once). Default 5s.
	PollInterval time.Duration
}

func defaultDelivery() Delivery {
	return Delivery{
		MaxAttempts:    8,
		InitialBackoff: 30 * time.Second,
		MaxBackoff:     time.Hour,
		Lease:          5 * time.Minute,
		SendTimeout:    time.Minute,
		BatchSize:      50,
		Concurrency:    4,
		PollInterval:   5 * time.Second,
	}
}

func (d Delivery) apply(c *config) error {
	overlay(&c.delivery, d)
	return nil
}

func (d Delivery) check() error {
	switch {
	case d.MaxAttempts < 1:
		return optionError("Delivery.MaxAttempts", nil, "must be at least 1, not %d", d.MaxAttempts)
	case d.InitialBackoff <= 0:
		return optionError("Delivery.InitialBackoff", nil, "must be positive, not %v", d.InitialBackoff)
	case d.MaxBackoff < d.InitialBackoff:
		return optionError("Delivery.MaxBackoff", nil, "(%v) must not be below InitialBackoff (%v)", d.MaxBackoff, d.InitialBackoff)
	case d.SendTimeout <= 0:
		return optionError("Delivery.SendTimeout", nil, "must be positive, not %v", d.SendTimeout)
	case d.Lease <= d.SendTimeout:
		return optionError("Delivery.Lease", nil, "(%v) must exceed SendTimeout (%v)", d.Lease, d.SendTimeout)
	case d.BatchSize < 1:
		return optionError("Delivery.BatchSize", nil, "must be at least 1, not %d", d.BatchSize)
	case d.Concurrency < 1:
		return optionError("Delivery.Concurrency", nil, "must be at least 1, not %d", d.Concurrency)
	case d.PollInterval <= 0:
		return optionError("Delivery.PollInterval", nil, "must be positive, not %v", d.PollInterval)
	}
	return nil
}

// HealthThresholds is an Option: pass it to New. It sets the thresholds of
// Manager.Health. A zero field keeps its default; a later HealthThresholds
// overrides an earlier one's non-zero fields. None may be negative, but
// MailerProbeInterval, where negative turns probing off.
type HealthThresholds struct {
	// DatabaseResponseTime is how long the store may take to answer
	// before the database check warns. Default 150ms, as Directus's
	// DB_HEALTHCHECK_THRESHOLD. A store that fails to answer is an error,
	// the one check that makes the whole report an error.
	DatabaseResponseTime time.Duration
	// OutboxPending is the number of pending mails at which the outbox
	// check warns. Default 1000.
	OutboxPending int
	// OutboxAge is the age of the oldest pending mail over which the
	// outbox check warns: mail is normally sent within seconds, so an
	// old one means delivery is stuck. Default 15m.
	OutboxAge time.Duration
	// DeliveryErrorWindow is how long a delivery attempt that failed for a
	// reason that concerns the relay (not a recipient the relay refused
	// for good) keeps the delivery check at warn, unless a later delivery
	// succeeded. Default 15m.
	DeliveryErrorWindow time.Duration
	// MailerProbeInterval is how often Health checks the mail relay, for a
	// Mailer that can (see Mailer); between probes the last result is
	// reported, so a relay that stopped shows as warn within this interval
	// (plus MailerProbeTimeout) of the next Health call. Default 30s;
	// negative: never probe.
	MailerProbeInterval time.Duration
	// MailerProbeTimeout bounds one probe. Default 10s.
	MailerProbeTimeout time.Duration
	// HashWaiting is the number of calls waiting for a hashing slot at
	// which the hashing check warns. Default: half of Limits.HashQueue, at
	// least 1.
	HashWaiting int
	// HashShedWindow is how long a call refused at the hashing limit
	// (ErrBusy) keeps the hashing check at warn. Default 1m.
	HashShedWindow time.Duration
}

func defaultHealthThresholds() HealthThresholds {
	return HealthThresholds{
		DatabaseResponseTime: 150 * time.Millisecond,
		OutboxPending:        1000,
		OutboxAge:            15 * time.Minute,
		DeliveryErrorWindow:  15 * time.Minute,
		MailerProbeInterval:  30 * time.Second,
		MailerProbeTimeout:   10 * time.Second,
		HashShedWindow:       time.Minute,
	}
}

func (h HealthThresholds) apply(c *config) error {
	overlay(&c.health, h)
	return nil
}

func (h HealthThresholds) check() error {
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"DatabaseResponseTime", h.DatabaseResponseTime < 0},
		{"OutboxPending", h.OutboxPending < 0},
		{"OutboxAge", h.OutboxAge < 0},
		{"DeliveryErrorWindow", h.DeliveryErrorWindow < 0},
		{"MailerProbeTimeout", h.MailerProbeTimeout < 0},
		{"HashWaiting", h.HashWaiting < 0},
		{"HashShedWindow", h.HashShedWindow < 0},
	} {
		if f.negative {
			return optionError("HealthThresholds."+f.name, nil, "must not be negative")
		}
	}
	return nil
}

// overlay sets each field of *dst to src's unless src's is zero: how an
// option struct's zero fields keep what was there.
func overlay[T any](dst *T, src T) {
	d, v := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src)
	for i := range v.NumField() {
		if f := v.Field(i); !f.IsZero() {
			d.Field(i).Set(f)
		}
	}
}

// Templates is an Option: pass it to New. It replaces the templates of
// the mails the Manager sends, one per kind of mail. A zero field, and a
// zero field of a Template, keeps the built-in one, so an application can
// change a subject alone; a later Templates overrides an earlier one's
// non-zero fields. Template says what a template sees.
//
//	users.Templates{Invite: users.Template{Subject: "Join Acme"}}
type Templates struct {
	// VerifyEmail: the verification link Register mails. Default subject:
	// "Verify your email address".
	VerifyEmail Template
	// Invite: the invitation Invite mails. Default subject: "You've been
	// invited".
	Invite Template
	// SetPassword: the link mailed when a contested registration is
	// verified, for its owner to choose the password. Default subject:
	// "Choose your password".
	SetPassword Template
	// PasswordReset: the link RequestPasswordReset mails. Default subject:
	// "Password Reset Request" (Directus's).
	PasswordReset Template
	// EmailChange: the link RequestEmailChange mails to the new address.
	// Default subject: "Confirm your new email address".
	EmailChange Template
	// EmailChangeNotice: the notice RequestEmailChange mails to the
	// current address. Default subject: "Your email address is about to
	// change".
	EmailChangeNotice Template
}

func (t Templates) apply(c *config) error {
	for _, k := range mailKinds {
		overlay(c.templates.byKind(k), *t.byKind(k))
	}
	return nil
}

func (t *Templates) check() error {
	for _, f := range []struct {
		name string
		tpl  *Template
	}{{"VerifyEmail", &t.VerifyEmail}, {"Invite", &t.Invite}, {"SetPassword", &t.SetPassword}, {"PasswordReset", &t.PasswordReset},
		{"EmailChange", &t.EmailChange}, {"EmailChangeNotice", &t.EmailChangeNotice}} {
		if strings.TrimSpace(f.tpl.Subject) == "" || strings.ContainsAny(f.tpl.Subject, "\r\n") {
			return optionError("Templates."+f.name+".Subject", nil, "must be one line of text, not %q", f.tpl.Subject)
		}
	}
	return nil
}
