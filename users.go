package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gousers/users/store"
)

// Manager runs the flows. It is safe for concurrent use.
type Manager struct {
	store     backend // the Store, its errors translated
	mailer    Mailer
	hasher    Hasher
	now       func() time.Time
	log       *slog.Logger
	publicURL string
	register  *AllowList
	invite    *AllowList
	verifyTTL time.Duration
	inviteTTL time.Duration
	templates Templates
	delivery  DeliveryOptions
	hashGate  *hashGate
	mailLimit Limiter // public flows; nil: no limit
	adminMail Limiter // mail an administrator asked for; nil: no limit
	authLimit Limiter // nil: no limit
	links     LinkPaths
	sess      *sessionState
	msgIDHost string // the right-hand side of every Message-ID

	dummyHash string // hashed once at New; see Register and Authenticate
	cached    atomic.Pointer[cachedSettings]
	wake      chan struct{} // nudges Run when a mail was queued

	observer    Observer // nil: none
	projectName string   // when the settings carry none
	health      HealthOptions
	releaseID   string
	healthLog   atomic.Int64 // unix nanoseconds of the last "store did not answer" warning
	deliveries  deliveryState
	probe       probeState
	gateStats   gateStats
}

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

// Option configures a Manager.
type Option func(*config) error

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

// WithHasher sets the password hasher. Default: DefaultArgon2id(). Use
// InsecureHasher{} in tests only.
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

// New builds a Manager. It validates every option (allow-list entries
// included) and fails on the first bad one.
func New(s store.Store, mailer Mailer, opts ...Option) (*Manager, error) {
	if s == nil {
		return nil, errors.New("users: store must not be nil")
	}
	if mailer == nil {
		return nil, errors.New("users: mailer must not be nil")
	}
	c := config{
		hasher:     DefaultArgon2id(),
		now:        time.Now,
		log:        slog.Default(),
		publicURL:  "http://localhost:8055",
		verifyTTL:  7 * 24 * time.Hour,
		inviteTTL:  7 * 24 * time.Hour,
		templates:  DefaultTemplates(),
		delivery:   DefaultDeliveryOptions(),
		hashLimit:  runtime.NumCPU(),
		hashQueue:  1024,
		hashBudget: 5 * time.Second,
		links:      DefaultLinkPaths(),
		health:     DefaultHealthOptions(),
	}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if !c.mailLimitSet {
		c.mailLimit = NewMemoryLimiter(5, time.Hour, WithLimiterClock(c.now))
	}
	if !c.adminMailSet {
		c.adminMail = NewMemoryLimiter(10, time.Hour, WithLimiterClock(c.now))
	}
	if !c.authLimitSet {
		c.authLimit = NewMemoryLimiter(10, 15*time.Minute, WithLimiterClock(c.now))
	}
	reg, err := NewAllowList(c.registerEntries...)
	if err != nil {
		return nil, fmt.Errorf("users: register URL allow-list: %w", err)
	}
	inv, err := NewAllowList(c.inviteEntries...)
	if err != nil {
		return nil, fmt.Errorf("users: invite URL allow-list: %w", err)
	}
	sess, err := newSessionState(&c)
	if err != nil {
		return nil, err
	}
	// A hash of a random password, verified on the paths that have no real
	// hash to check, so that every path does the same hashing work. Its
	// duration is the first sample of the failed-login floor and the
	// hashing gate's first estimate.
	t0 := time.Now()
	dummy, err := c.hasher.Hash(uuid.NewString())
	if err != nil {
		return nil, fmt.Errorf("users: hasher: %w", err)
	}
	hashTime := time.Since(t0)
	sess.verifyCosts.add(paramSet(dummy), hashTime)
	// The first hash pays for memory the process never touched (64 MiB at
	// Directus's parameters): a second one, verifying the first, measures
	// the cost of the hashes to come, which the gate's first estimate is.
	// A collection in between lets the second reuse the first's memory, as
	// the hashes of a running server do; without it the second pays for
	// fresh memory too, and measured three times the cost, which made the
	// gate turn away two thirds of the first burst it could have served.
	runtime.GC()
	t1 := time.Now()
	if _, err := c.hasher.Verify(uuid.NewString(), dummy); err != nil {
		return nil, fmt.Errorf("users: hasher: %w", err)
	}
	// Under a burst, the requests beside the hashes (reading them, shedding
	// the ones over budget) take about a fifth of the CPU: the first
	// estimate allows for it, as the measured ones that replace it do.
	firstHash := min(hashTime, time.Since(t1)) * time.Duration(hashContention(c.hasher, c.hashLimit)) * 5 / 4
	return &Manager{
		store:       backend{s},
		mailer:      mailer,
		hasher:      c.hasher,
		now:         c.now,
		log:         c.log,
		publicURL:   c.publicURL,
		register:    reg,
		invite:      inv,
		verifyTTL:   c.verifyTTL,
		inviteTTL:   c.inviteTTL,
		templates:   c.templates,
		delivery:    c.delivery,
		hashGate:    newHashGate(c.hashLimit, c.hashQueue, c.hashBudget, firstHash),
		mailLimit:   c.mailLimit,
		adminMail:   c.adminMail,
		msgIDHost:   messageIDHost(c.publicURL),
		authLimit:   c.authLimit,
		links:       c.links,
		sess:        sess,
		dummyHash:   dummy,
		wake:        make(chan struct{}, 1),
		observer:    c.observer,
		health:      c.health,
		releaseID:   moduleVersion(),
		projectName: c.projectName,
	}, nil
}

// hashContention estimates how many times longer one hash takes when
// limit hashes run at once than when it runs alone: an argon2id hash with
// p lanes keeps min(p, cores) cores busy, so limit of them share the
// cores. Other hashers are taken to use one core.
func hashContention(h Hasher, limit int) int {
	lanes := 1
	if a, ok := h.(*Argon2id); ok {
		lanes = int(a.Threads)
	}
	cores := runtime.NumCPU()
	busy := limit * min(lanes, cores)
	return max(1, (busy+cores-1)/cores)
}

// clock returns now in UTC, truncated to the microsecond (what every store
// keeps).
func (m *Manager) clock() time.Time { return m.now().UTC().Truncate(time.Microsecond) }

// publicUser returns the User view of a store's record: no hash,
// HasPassword set.
func publicUser(r *store.User) *User {
	u := &User{
		ID:          r.ID,
		Email:       r.Email,
		FirstName:   r.FirstName,
		LastName:    r.LastName,
		Status:      r.Status,
		Role:        r.Role,
		Policies:    r.Policies,
		Metadata:    r.Metadata,
		HasPassword: r.PasswordHash != "",
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
	}
	if u.Policies == nil {
		u.Policies = []string{}
	}
	return u
}

// queued nudges the delivery worker after a mail was written.
func (m *Manager) queued() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// link builds a mail link: base (or the default path, one of m.links, under
// the public URL) with token=<token> added to its query.
func (m *Manager) link(base, defaultPath, token string) (string, error) {
	if base == "" {
		base = m.publicURL + defaultPath
	}
	return WithQueryParam(base, "token", token)
}

// User returns the user with the given id (ErrUserNotFound).
func (m *Manager) User(ctx context.Context, id string) (*User, error) {
	if !possibleID(id) {
		return nil, opErr("get user", ErrUserNotFound)
	}
	r, err := m.store.GetUser(ctx, id)
	if err != nil {
		return nil, opErr("get user", notFoundAs(err, ErrUserNotFound))
	}
	return publicUser(r), nil
}

// notFoundAs turns a store's store.ErrNotFound into the given sentinel.
func notFoundAs(err, sentinel error) error {
	if isNotFound(err) {
		return sentinel
	}
	return err
}
