package users

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Limiter decides whether an event for a key may happen now. The Manager
// uses one per recipient address for anonymous flows' mail
// (WithMailLimiter), one for administrators' mail (WithAdminMailLimiter)
// and one per address for logins (WithLoginLimiter); package httpapi uses
// one per client IP. Keys are opaque to the Limiter; the Manager passes
// normalised email addresses (see NormalizeEmail), and, where Register
// must do the same work without counting against an address, a key that
// no address can be ("unmailed " and the address).
//
// Allow records an event for key and returns nil when it is allowed. When
// it is not, Allow records nothing and returns a *RateLimitError (which
// matches ErrRateLimited) whose RetryAfter, also returned, says when the
// next event would be allowed. Any other error means the Limiter could not
// decide (its back-end failed); the Manager then fails the operation
// before writing anything. Implementations must be safe for concurrent use
// and must not put the key in an error: it is an email address.
type Limiter interface {
	Allow(ctx context.Context, key string) (retryAfter time.Duration, err error)
}

// ResettableLimiter is a Limiter that can forget a key's events. The
// Manager resets an address's login limiter after a successful login, so
// that only failed logins since the last success count. MemoryLimiter
// implements it; a Limiter without Reset counts successful logins too.
type ResettableLimiter interface {
	Limiter
	// Reset forgets every event recorded for key.
	Reset(ctx context.Context, key string) error
}

// RateLimitError is a Limiter's denial: at most Limit events per Window
// are allowed for the key, and the next one will be in RetryAfter. It
// unwraps to ErrRateLimited. It never names the key.
type RateLimitError struct {
	Limit      int
	Window     time.Duration
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("users: too many requests (at most %d per %v), retry after %v", e.Limit, e.Window, e.RetryAfter)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// DefaultLimiterMaxKeys is how many keys a MemoryLimiter tracks unless
// WithLimiterMaxKeys says otherwise.
const DefaultLimiterMaxKeys = 100_000

// MemoryLimiter is an in-process Limiter: it allows at most Points events
// per key in any sliding window of length Window (an exact sliding log, not
// a fixed window, so there is no burst of 2×Points across a window
// boundary). A denied event is not recorded, so retrying while denied does
// not extend the wait.
//
// Memory is bounded: a key costs about 100 bytes plus 8 bytes per recorded
// event (at most Points), a key with no event left in the window is
// dropped as new events arrive, and at most DefaultLimiterMaxKeys keys are
// kept ([WithLimiterMaxKeys] sets another bound): beyond that the least
// recently used key is forgotten, so its count starts again. Set the bound
// above the number of keys you expect to be active within one window.
//
// Each process has its own counts: several instances of an application
// each allow Points per window. Supply a shared Limiter (for example on
// the application's database or Redis) to limit across instances.
//
// It is safe for concurrent use.
type MemoryLimiter struct {
	points  int
	window  time.Duration
	now     func() time.Time
	maxKeys int
	base    time.Time // event times are durations since base

	mu         sync.Mutex
	keys       map[string]*limiterEntry
	head, tail *limiterEntry // most and least recently used
}

// limiterEntry is one key's recent events, oldest first, in a ring that
// grows up to points slots.
type limiterEntry struct {
	key        string
	ring       []time.Duration
	first, n   int
	prev, next *limiterEntry
}

// LimiterOption configures a MemoryLimiter.
type LimiterOption func(*MemoryLimiter)

// WithLimiterClock sets a MemoryLimiter's clock. Default: time.Now. A nil
// clock is ignored.
func WithLimiterClock(now func() time.Time) LimiterOption {
	return func(l *MemoryLimiter) {
		if now != nil {
			l.now = now
		}
	}
}

// WithLimiterMaxKeys sets how many keys a MemoryLimiter keeps at most.
// Default: DefaultLimiterMaxKeys. Values below 1 are ignored.
func WithLimiterMaxKeys(n int) LimiterOption {
	return func(l *MemoryLimiter) {
		if n >= 1 {
			l.maxKeys = n
		}
	}
}

// NewMemoryLimiter returns a MemoryLimiter allowing points events per key
// in any window. It panics if points < 1 or window <= 0, as
// time.NewTicker does for a bad period: those are programming errors.
func NewMemoryLimiter(points int, window time.Duration, opts ...LimiterOption) *MemoryLimiter {
	if points < 1 || window <= 0 {
		panic("users: NewMemoryLimiter needs points >= 1 and window > 0")
	}
	l := &MemoryLimiter{
		points:  points,
		window:  window,
		now:     time.Now,
		maxKeys: DefaultLimiterMaxKeys,
		keys:    make(map[string]*limiterEntry),
	}
	for _, o := range opts {
		o(l)
	}
	l.base = l.now()
	return l
}

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(_ context.Context, key string) (time.Duration, error) {
	now := l.now().Sub(l.base)
	cutoff := now - l.window // an event at t counts while t > cutoff

	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.keys[key]
	if e == nil {
		e = &limiterEntry{key: key}
		l.keys[key] = e
	} else {
		l.unlink(e)
	}
	l.pushFront(e)
	l.evict(cutoff)
	e.prune(cutoff)
	if e.n >= l.points {
		retry := max(e.ring[e.first]+l.window-now, 0)
		return retry, &RateLimitError{Limit: l.points, Window: l.window, RetryAfter: retry}
	}
	e.push(now, l.points)
	return 0, nil
}

// Reset implements ResettableLimiter.
func (l *MemoryLimiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.keys[key]; e != nil {
		l.remove(e)
	}
	return nil
}

// Len returns how many keys the limiter holds (for tests and metrics).
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// evict drops the least recently used keys while there are too many, and
// up to two idle ones (no event after cutoff) on every call, so that
// memory follows the number of keys active within a window. The head (the
// key being asked about) is never dropped.
func (l *MemoryLimiter) evict(cutoff time.Duration) {
	for len(l.keys) > l.maxKeys {
		l.remove(l.tail)
	}
	for range 2 {
		if t := l.tail; t != nil && t != l.head && t.idle(cutoff) {
			l.remove(t)
		}
	}
}

func (l *MemoryLimiter) remove(e *limiterEntry) {
	l.unlink(e)
	delete(l.keys, e.key)
}

func (l *MemoryLimiter) unlink(e *limiterEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (l *MemoryLimiter) pushFront(e *limiterEntry) {
	e.next = l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}

// prune drops the events at or before cutoff.
func (e *limiterEntry) prune(cutoff time.Duration) {
	for e.n > 0 && e.ring[e.first] <= cutoff {
		e.first = (e.first + 1) % len(e.ring)
		e.n--
	}
}

// idle reports whether no event is after cutoff.
func (e *limiterEntry) idle(cutoff time.Duration) bool {
	return e.n == 0 || e.ring[(e.first+e.n-1)%len(e.ring)] <= cutoff
}

// push records an event at t; the caller has checked n < points.
func (e *limiterEntry) push(t time.Duration, points int) {
	if e.n == len(e.ring) {
		r := make([]time.Duration, min(max(2*len(e.ring), 1), points))
		for i := range e.n {
			r[i] = e.ring[(e.first+i)%len(e.ring)]
		}
		e.ring, e.first = r, 0
	}
	e.ring[(e.first+e.n)%len(e.ring)] = t
	e.n++
}

// allowMail asks the public mail limiter (WithMailLimiter) whether a mail
// may go to the address with this key (a normalised email). A non-nil
// denied (matching ErrRateLimited) means it is over the limit; a non-nil
// err, that the limiter failed.
func (m *Manager) allowMail(ctx context.Context, key string) (denied, err error) {
	return m.askLimiter(ctx, m.mailLimit, key, "mail limiter", "mail")
}

// allowAdminMail is allowMail for mail an administrator asked for
// (WithAdminMailLimiter).
func (m *Manager) allowAdminMail(ctx context.Context, key string) (denied, err error) {
	return m.askLimiter(ctx, m.adminMail, key, "admin mail limiter", "admin_mail")
}

func (m *Manager) askLimiter(ctx context.Context, l Limiter, key, name, event string) (denied, err error) {
	if l == nil {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err // nothing will be written: count nothing
	}
	switch _, err := l.Allow(ctx, key); {
	case err == nil:
		return nil, nil
	case errors.Is(err, ErrRateLimited):
		m.observe(Event{Kind: EventRateLimited, Limiter: event})
		return err, nil
	default:
		return nil, fmt.Errorf("%s: %w", name, err)
	}
}

// mailHeld logs a mail the mail limiter held back: its kind and user id,
// never the address.
func (m *Manager) mailHeld(ctx context.Context, kind MailKind, userID string) {
	m.log.InfoContext(ctx, "users: recipient over the mail rate limit; no mail queued",
		"kind", string(kind), "user_id", userID)
}
