package users

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gousers/users/internal/echo"
	"github.com/gousers/users/internal/linkurl"
	"github.com/gousers/users/store"
)

// Bounds the Manager holds to, whatever its options.
const (
	// MaxInviteEmails caps the number of addresses one Invite call takes.
	MaxInviteEmails = 1000
	// MaxCreateUsers caps the number of users one CreateUsers call takes.
	MaxCreateUsers = 1000
	// MinSecretBytes is the shortest secret WithSecret accepts: a shorter
	// HMAC key could be guessed offline from any access token.
	MinSecretBytes = 32
	// DeviceCookieLifetime is how long a device cookie is honoured after
	// the login that issued it (see Manager.Login).
	DeviceCookieLifetime = 365 * 24 * time.Hour
)

// Manager runs the flows. It is safe for concurrent use.
type Manager struct {
	stall       time.Duration // Limits.RequestStall
	store       backend       // the Store, its errors translated
	mailer      Mailer
	hasher      Hasher
	now         func() time.Time
	log         *slog.Logger
	links       Links // PublicURL without a trailing slash; the paths
	register    *allowList
	invite      *allowList
	emailChange *allowList
	lifetimes   Lifetimes
	templates   Templates
	delivery    Delivery
	hashGate    *hashGate
	mailLimit   Limiter // public flows; nil: no limit
	resetLimit  Limiter // password-reset requests per client IP; nil: no limit
	adminMail   Limiter // mail an administrator asked for; nil: no limit
	authLimit   Limiter // nil: no limit
	sess        *sessionState
	msgIDHost   string // the right-hand side of every Message-ID

	dummyHash string // hashed once at New; see Register and Authenticate
	cached    atomic.Pointer[cachedSettings]
	wake      chan struct{} // nudges Run when a mail was queued

	observer    Observer // nil: none
	projectName string   // when the settings carry none
	health      HealthThresholds
	releaseID   string
	healthLog   atomic.Int64 // unix nanoseconds of the last "store did not answer" warning
	deliveries  deliveryState
	probe       probeState
	gateStats   gateStats
	hooks       hooks
}

// New builds a Manager on a Store and a Mailer. It applies the options in
// order, then checks what they set — every value, allow-list entries
// included — and fails on the first bad one, with a *ValidationError whose
// Field names the option and its field ("Links.RegisterURLs",
// "Lifetimes.Refresh", "WithSecret"). It hashes twice, to measure the
// hasher.
func New(s store.Store, mailer Mailer, opts ...Option) (*Manager, error) {
	if s == nil {
		return nil, errors.New("users: store must not be nil")
	}
	if mailer == nil {
		return nil, errors.New("users: mailer must not be nil")
	}
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("users: a nil Option")
		}
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	reg, _ := newAllowList(c.links.RegisterURLs...) // checked
	inv, _ := newAllowList(c.links.InviteURLs...)
	change, _ := newAllowList(c.links.EmailChangeURLs...)
	sess, err := newSessionState(&c)
	if err != nil {
		return nil, err
	}
	lim := c.limits
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
	firstHash := min(hashTime, time.Since(t1)) * time.Duration(hashContention(c.hasher, lim.HashConcurrency)) * 5 / 4
	m := &Manager{
		store:       backend{s: s},
		mailer:      mailer,
		hasher:      c.hasher,
		now:         c.now,
		log:         c.log,
		links:       c.links,
		register:    reg,
		invite:      inv,
		emailChange: change,
		lifetimes:   c.lifetimes,
		templates:   c.templates,
		delivery:    c.delivery,
		hashGate:    newHashGate(lim.HashConcurrency, lim.HashQueue, lim.HashWaitBudget, firstHash),
		mailLimit:   lim.Mail,
		resetLimit:  lim.ResetRequestIP,
		stall:       lim.RequestStall,
		adminMail:   lim.AdminMail,
		msgIDHost:   messageIDHost(c.links.PublicURL),
		authLimit:   lim.Login,
		sess:        sess,
		dummyHash:   dummy,
		wake:        make(chan struct{}, 1),
		observer:    c.observer,
		health:      c.health,
		releaseID:   moduleVersion(),
		projectName: c.projectName,
		hooks:       newHooks(c.hooks),
	}
	if len(m.hooks.names) > 0 {
		m.store.wrote = m.queued
	}
	return m, nil
}

// hashContention estimates how many times longer one hash takes when
// limit hashes run at once than when it runs alone: an argon2id hash with
// p lanes keeps min(p, cores) cores busy, so limit of them share the
// cores. Other hashers are taken to use one core.
func hashContention(h Hasher, limit int) int {
	lanes := 1
	if a, ok := argon2idOf(h); ok {
		lanes = int(a.params().Threads)
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
		Contested:   r.Contested,
		TwoFactor:   r.TwoFactor,
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
		LastAccess:  r.LastAccess,
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

// link builds a mail link: base (or the default path, one of m.links' paths,
// under the public URL) with token=<token> added to its query.
func (m *Manager) link(base, defaultPath, token string) (string, error) {
	if base == "" {
		base = m.links.PublicURL + defaultPath
	}
	link, err := linkurl.WithQueryParam(base, "token", token)
	if err != nil {
		return "", &ValidationError{Field: "url", Reason: fmt.Sprintf("URL %q is not a valid absolute URL", echo.Cut(base)), whole: true}
	}
	return link, nil
}

// notFoundAs turns a store's store.ErrNotFound into the given sentinel.
func notFoundAs(err, sentinel error) error {
	if isNotFound(err) {
		return sentinel
	}
	return err
}
