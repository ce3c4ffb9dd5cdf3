package users

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"time"
)

// Option configures a Manager.
type Option func(*config) error

// config is what the options set: New starts from the defaults, applies
// the options in order, and builds the Manager from the result.
type config struct {
	hasher          Hasher
	now             func() time.Time
	log             *slog.Logger
	publicURL       string
	registerEntries []string
	inviteEntries   []string
	verifyTTL       time.Duration
	inviteTTL       time.Duration
	templates       Templates
	delivery        DeliveryOptions
	hashLimit       int
	hashQueue       int
	hashBudget      time.Duration
	mailLimit       Limiter
	mailLimitSet    bool
	adminMail       Limiter
	adminMailSet    bool
	authLimit       Limiter
	authLimitSet    bool
	links           LinkPaths
	sess            sessionOptions
	observer        Observer
	health          HealthOptions
	projectName     string
}

// sessionOptions are the session-related options.
type sessionOptions struct {
	secret          []byte
	accessTTL       time.Duration
	refreshTTL      time.Duration
	resetEntries    []string
	ipLimit         Limiter
	ipLimitSet      bool
	deviceLimit     Limiter
	deviceLimitSet  bool
	failedLoginMin  time.Duration
	failedLoginSeen bool
}

// WithPublicURL sets the public URL of the application, the base of the
// default links (see WithLinkPaths): <public URL>/users/register/verify-email
// and <public URL>/admin/accept-invite. It must be an absolute http(s) URL.
// Default: http://localhost:8055 (Directus's default).
func WithPublicURL(u string) Option {
	return func(c *config) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
			return fmt.Errorf("users: public URL %q must be an absolute http(s) URL", u)
		}
		c.publicURL = strings.TrimRight(u, "/")
		return nil
	}
}

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

// WithRegisterURLAllowList sets the URLs Register accepts as
// verification_url (USER_REGISTER_URL_ALLOW_LIST). Default: none.
func WithRegisterURLAllowList(entries ...string) Option {
	return func(c *config) error { c.registerEntries = append(c.registerEntries, entries...); return nil }
}

// WithInviteURLAllowList sets the URLs Invite accepts as invite_url
// (USER_INVITE_URL_ALLOW_LIST). Default: none.
func WithInviteURLAllowList(entries ...string) Option {
	return func(c *config) error { c.inviteEntries = append(c.inviteEntries, entries...); return nil }
}

// WithPasswordResetURLAllowList sets the URLs RequestPasswordReset accepts
// as reset_url (PASSWORD_RESET_URL_ALLOW_LIST). Default: none.
func WithPasswordResetURLAllowList(entries ...string) Option {
	return func(c *config) error { c.sess.resetEntries = append(c.sess.resetEntries, entries...); return nil }
}

// WithTokenLifetimes sets how long verification and invite tokens live.
// Default: 7 days each. Zero leaves a lifetime unchanged.
func WithTokenLifetimes(verify, invite time.Duration) Option {
	return func(c *config) error {
		if verify < 0 || invite < 0 {
			return errors.New("users: token lifetimes must not be negative")
		}
		if verify > 0 {
			c.verifyTTL = verify
		}
		if invite > 0 {
			c.inviteTTL = invite
		}
		return nil
	}
}

// Default session lifetimes (Directus's ACCESS_TOKEN_TTL and
// REFRESH_TOKEN_TTL).
const (
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultRefreshTokenTTL = 7 * 24 * time.Hour
)

// WithSessionLifetimes sets how long an access token lives
// (ACCESS_TOKEN_TTL, default DefaultAccessTokenTTL: 15 minutes) and how
// long a session lives after its last refresh (REFRESH_TOKEN_TTL, default
// DefaultRefreshTokenTTL: 7 days). Zero leaves a lifetime unchanged; the
// refresh lifetime must not be shorter than the access one.
func WithSessionLifetimes(access, refresh time.Duration) Option {
	return func(c *config) error {
		if access < 0 || refresh < 0 {
			return errors.New("users: session lifetimes must not be negative")
		}
		if access > 0 {
			c.sess.accessTTL = access
		}
		if refresh > 0 {
			c.sess.refreshTTL = refresh
		}
		return nil
	}
}

// WithSecret sets the key that signs access tokens (HS256) and, derived
// from it, device cookies — Directus's SECRET. It must be at least
// MinSecretBytes long. Default: 32 random bytes drawn when the Manager is
// built, so tokens do not survive a restart and are not accepted by
// another instance: set it whenever several instances serve one Store.
func WithSecret(secret []byte) Option {
	return func(c *config) error {
		if len(secret) < MinSecretBytes {
			return fmt.Errorf("users: the secret must be at least %d bytes, not %d", MinSecretBytes, len(secret))
		}
		c.sess.secret = append([]byte(nil), secret...)
		return nil
	}
}

// WithHasher sets the password hasher. Default: DefaultArgon2id(). Tests
// may use the fast, insecure userstest.Hasher.
func WithHasher(h Hasher) Option {
	return func(c *config) error {
		if h == nil {
			return errors.New("users: hasher must not be nil")
		}
		if a, ok := h.(*Argon2id); ok {
			if err := a.validate(); err != nil {
				return err
			}
		}
		c.hasher = h
		return nil
	}
}

// WithHashConcurrency bounds password work — checking a new password
// against the policy, hashing it, verifying one (Register, Authenticate,
// AcceptInvite, Create, UpdateUser): at most limit calls do it at once,
// and at most queue more wait for a slot, as long as their expected wait
// stays within the budget (WithHashWaitBudget). Any other call fails at
// once with a *BusyError (ErrBusy; HTTP 503 with Retry-After) estimating
// the wait. A waiting call gives up when its ctx is done, with ctx's
// error, having written nothing; one whose ctx deadline comes before its
// expected turn is refused at once. Each running argon2id hash holds its
// Memory parameter (19 MiB by default), so limit bounds the memory a
// burst of logins or registrations takes, while waiting costs little.
// limit must be at least 1 and queue at least 0 (0: never wait). Default:
// limit runtime.NumCPU(), queue 1024.
func WithHashConcurrency(limit, queue int) Option {
	return func(c *config) error {
		if limit < 1 || queue < 0 {
			return fmt.Errorf("users: hash concurrency needs limit >= 1 and queue >= 0, not %d and %d", limit, queue)
		}
		c.hashLimit, c.hashQueue = limit, queue
		return nil
	}
}

// WithHashWaitBudget sets how long a call may expect to take at the
// hashing limit (see WithHashConcurrency), its wait and its own hash: a
// call that finds every slot taken joins the queue only while (calls
// already waiting + 1) × the measured duration of a hash ÷ the limit, plus
// one hash, is at most d; otherwise it is refused at once with a
// *BusyError whose RetryAfter is the expected wait. The duration of a hash
// is a moving average of the hashes this Manager ran, starting from the
// ones New runs (scaled up by how many of the machine's cores one argon2id
// hash keeps busy). d must not be negative; 0 means never wait. Default: 5
// seconds.
func WithHashWaitBudget(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("users: hash wait budget must not be negative, not %v", d)
		}
		c.hashBudget = d
		return nil
	}
}

// WithFailedLoginMinimum sets a lower bound on how long the password check
// of a failed login takes (see Login: failed logins are padded to the
// learned cost of the slowest parameter set in use; this bound applies
// before any has been learned). Set it to the verification time of the
// slowest hash parameters your store may hold — for users imported from
// Directus, its m=65536,t=3,p=4 — to hide them from the first probe after
// a start. Default: 0 (learned only).
func WithFailedLoginMinimum(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > time.Minute {
			return fmt.Errorf("users: failed-login minimum must be between 0 and 1m, not %v", d)
		}
		c.sess.failedLoginMin, c.sess.failedLoginSeen = d, true
		return nil
	}
}

// WithMailLimiter limits the mails that anonymous requests make the
// Manager queue (Register's verification mails), per recipient, keyed by
// the normalised address (NormalizeEmail). Over the limit the operation
// still makes its change but queues no mail and mints no token, so the
// links already sent stay valid, and Register answers as usual. Register
// consults a limiter on every path that passed its checks, whether or not
// the address exists, so that its work never depends on it; but only a
// registration that mails the address (a new or still unverified one)
// counts against the address: registering the address of an existing
// account that gets no mail (active, invited…) uses up none of its
// allowance. Mail an administrator asks for has its own allowance
// (WithAdminMailLimiter), so anonymous traffic never holds it back. The
// mail held back is logged at Info level with the user id, never the
// address. The set-password mail of a contested registration is not
// limited: each one answers a verification link that was itself counted.
// nil disables the limit. Default: NewMemoryLimiter(5, time.Hour) on the
// Manager's clock — at most 5 mails per address in any hour, per process.
func WithMailLimiter(l Limiter) Option {
	return func(c *config) error { c.mailLimit, c.mailLimitSet = l, true; return nil }
}

// WithAdminMailLimiter limits the mails an administrator's actions queue
// (Invite: new invitations, re-invitations, invitations that take over a
// never-verified account), per recipient, keyed by the normalised
// address. It is separate from WithMailLimiter, so that anonymous
// requests can never use up what an administrator needs; it guards
// against a runaway script. Over the limit Invite still makes its change
// but queues no mail and mints no token, and reports ErrRateLimited in
// that address's InviteResult.Err. nil disables the limit. Default:
// NewMemoryLimiter(10, time.Hour) on the Manager's clock — at most 10
// invitation mails per address in any hour, per process.
func WithAdminMailLimiter(l Limiter) Option {
	return func(c *config) error { c.adminMail, c.adminMailSet = l, true; return nil }
}

// WithLoginLimiter limits login attempts per address from unknown devices
// (attempts that present no device cookie issued to that address; see
// Login), keyed by the normalised address (NormalizeEmail). Login and
// Authenticate consult it before looking the user up, for every
// well-formed address — existing or not, so that a refusal reveals
// nothing — and over the limit return a *RateLimitError (ErrRateLimited)
// without hashing. A successful login from an unknown device, and a
// password reset, reset the address's count when l is a
// ResettableLimiter; wrong current passwords given to ChangePassword count
// too. Strangers can use this limit up, locking the address for unknown
// devices only: devices that logged in before are limited per device
// (WithDeviceLimiter). nil disables the limit. Default:
// NewMemoryLimiter(10, 15*time.Minute) on the Manager's clock — 10
// attempts per address in any 15 minutes, per process.
func WithLoginLimiter(l Limiter) Option {
	return func(c *config) error { c.authLimit, c.authLimitSet = l, true; return nil }
}

// WithLoginIPLimiter limits login attempts per client IP and address
// (keyed "<IP> <normalised address>") from unknown devices — attempts
// that present no device cookie issued to that address. Over the limit,
// Login answers a *RateLimitError without hashing. A successful login
// resets the key when l is a ResettableLimiter. Attempts without an IP
// (LoginInput.IP empty, and Authenticate) skip it. nil disables it.
// Default: NewMemoryLimiter(5, 15*time.Minute) on the Manager's clock —
// 5 attempts per address from one IP in any 15 minutes, per process.
func WithLoginIPLimiter(l Limiter) Option {
	return func(c *config) error { c.sess.ipLimit, c.sess.ipLimitSet = l, true; return nil }
}

// WithDeviceLimiter limits login attempts per device cookie, for attempts
// that present a device cookie issued to the address they name (such
// attempts skip the per-IP and per-address limits). A successful login
// resets the key when l is a ResettableLimiter. nil disables it. Default:
// NewMemoryLimiter(10, 15*time.Minute) on the Manager's clock — 10
// attempts per device in any 15 minutes, per process.
func WithDeviceLimiter(l Limiter) Option {
	return func(c *config) error { c.sess.deviceLimit, c.sess.deviceLimitSet = l, true; return nil }
}

// WithClock sets the clock. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("users: clock must not be nil")
		}
		c.now = now
		return nil
	}
}

// WithLogger sets the logger. Default: slog.Default(). The Manager logs
// delivery failures and nothing secret.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("users: logger must not be nil")
		}
		c.log = l
		return nil
	}
}

// WithObserver sets the Observer told about flows, deliveries, hashing
// waits and rate-limit refusals. Default: none.
func WithObserver(o Observer) Option {
	return func(c *config) error {
		if o == nil {
			return errors.New("users: observer must not be nil")
		}
		c.observer = o
		return nil
	}
}

// WithProjectName sets the project name used when the stored settings
// carry none (Settings.ProjectName is empty): Settings reports it, and
// mails show it. It is validated as Settings.ProjectName is. Default: ""
// (mails then read "You have been invited", without a name).
func WithProjectName(name string) Option {
	return func(c *config) error {
		if err := validateProjectName(name); err != nil {
			return err
		}
		c.projectName = name
		return nil
	}
}

// WithTemplates replaces the mail templates. Default: DefaultTemplates().
func WithTemplates(t Templates) Option {
	return func(c *config) error {
		if err := t.validate(); err != nil {
			return err
		}
		c.templates = maps.Clone(t)
		return nil
	}
}

// DeliveryOptions is the outbox delivery policy.
type DeliveryOptions struct {
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

// DefaultDeliveryOptions returns the default delivery policy.
func DefaultDeliveryOptions() DeliveryOptions {
	return DeliveryOptions{
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

func (d DeliveryOptions) validate() error {
	switch {
	case d.MaxAttempts < 1:
		return errors.New("users: delivery: MaxAttempts must be at least 1")
	case d.InitialBackoff <= 0 || d.MaxBackoff < d.InitialBackoff:
		return errors.New("users: delivery: need 0 < InitialBackoff <= MaxBackoff")
	case d.SendTimeout <= 0 || d.Lease <= d.SendTimeout:
		return errors.New("users: delivery: need 0 < SendTimeout < Lease")
	case d.BatchSize < 1 || d.Concurrency < 1:
		return errors.New("users: delivery: BatchSize and Concurrency must be at least 1")
	case d.PollInterval <= 0:
		return errors.New("users: delivery: PollInterval must be positive")
	}
	return nil
}

// WithDelivery sets the outbox delivery policy. Default:
// DefaultDeliveryOptions().
func WithDelivery(d DeliveryOptions) Option {
	return func(c *config) error {
		if err := d.validate(); err != nil {
			return err
		}
		c.delivery = d
		return nil
	}
}

// HealthOptions are the thresholds of Manager.Health. A zero field takes
// its default.
type HealthOptions struct {
	// DatabaseResponseTime is how long the store may take to answer
	// (store.Outbox.MailStats) before the database check warns. Default 150ms, as
	// Directus's DB_HEALTHCHECK_THRESHOLD. A store that fails to answer is
	// an error, the one check that makes the whole report an error.
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
	// MailerProbeInterval is how often Health checks the mail relay when
	// the Mailer is a MailerVerifier; between probes the last result is
	// reported, so a relay that stopped shows as warn within this interval
	// (plus MailerProbeTimeout) of the next Health call. Default 30s;
	// negative: never probe.
	MailerProbeInterval time.Duration
	// MailerProbeTimeout bounds one probe. Default 10s.
	MailerProbeTimeout time.Duration
	// HashWaiting is the number of calls waiting for a hashing slot at
	// which the hashing check warns. Default: half the queue of
	// WithHashConcurrency, at least 1.
	HashWaiting int
	// HashShedWindow is how long a call refused at the hashing limit
	// (ErrBusy) keeps the hashing check at warn. Default 1m.
	HashShedWindow time.Duration
}

// DefaultHealthOptions returns the default thresholds; HashWaiting stays
// 0, meaning half the hashing queue.
func DefaultHealthOptions() HealthOptions {
	return HealthOptions{
		DatabaseResponseTime: 150 * time.Millisecond,
		OutboxPending:        1000,
		OutboxAge:            15 * time.Minute,
		DeliveryErrorWindow:  15 * time.Minute,
		MailerProbeInterval:  30 * time.Second,
		MailerProbeTimeout:   10 * time.Second,
		HashShedWindow:       time.Minute,
	}
}

// WithHealthOptions sets the thresholds of Manager.Health. Zero fields
// keep their defaults (DefaultHealthOptions); negative ones are an error,
// except MailerProbeInterval, where negative turns probing off.
func WithHealthOptions(h HealthOptions) Option {
	return func(c *config) error {
		if h.DatabaseResponseTime < 0 || h.OutboxPending < 0 || h.OutboxAge < 0 || h.DeliveryErrorWindow < 0 ||
			h.MailerProbeTimeout < 0 || h.HashWaiting < 0 || h.HashShedWindow < 0 {
			return errors.New("users: health options must not be negative (but MailerProbeInterval, to turn probing off)")
		}
		d := DefaultHealthOptions()
		set := func(dst *time.Duration, v time.Duration) {
			if v != 0 {
				*dst = v
			}
		}
		set(&d.DatabaseResponseTime, h.DatabaseResponseTime)
		set(&d.OutboxAge, h.OutboxAge)
		set(&d.DeliveryErrorWindow, h.DeliveryErrorWindow)
		set(&d.MailerProbeInterval, h.MailerProbeInterval)
		set(&d.MailerProbeTimeout, h.MailerProbeTimeout)
		set(&d.HashShedWindow, h.HashShedWindow)
		if h.OutboxPending != 0 {
			d.OutboxPending = h.OutboxPending
		}
		d.HashWaiting = h.HashWaiting
		c.health = d
		return nil
	}
}
