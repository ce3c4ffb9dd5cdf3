package users

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Limiter decides whether an event for a key may happen now. The Manager
// uses one per recipient address for anonymous flows' mail (Limits.Mail),
// one for administrators' mail (Limits.AdminMail) and several for logins
// (Limits.Login, LoginIP, Device); package httpapi uses one per client IP.
// Keys are opaque to the Limiter; the Manager passes normalised email
// addresses (see NormalizeEmail), and, where Register must do the same
// work without counting against an address, a key that no address can be
// ("unmailed " and the address).
//
// Implementations must be safe for concurrent use and must not put the
// key in an error: it is an email address. MemoryLimiter is the
// in-process one; pgstore and mysqlstore have limiters shared by every
// instance on one database.
type Limiter interface {
	// Allow records an event for key and returns nil when it is allowed.
	// When it is not, Allow records nothing and returns a
	// *RateLimitError (which matches ErrRateLimited) whose RetryAfter,
	// also returned, says when the next event would be allowed. Any other
	// error means the Limiter could not decide (its back-end failed); the
	// Manager then fails the operation before writing anything.
	Allow(ctx context.Context, key string) (retryAfter time.Duration, err error)
	// Reset forgets every event recorded for key. The Manager resets an
	// address's login limits after a successful login, so that only failed
	// logins since the last success count. An error is logged; the login
	// stands.
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

// defaultLimiterMaxKeys is how many keys a MemoryLimiter tracks when its
// MaxKeys is 0.
const defaultLimiterMaxKeys = 100_000

// MemoryLimiter is an in-process Limiter: it allows at most Points events
// per key in any sliding window of length Window (an exact sliding log,
// not a fixed window, so there is no burst of 2×Points across a window
// boundary). A denied event is not recorded, so retrying while denied does
// not extend the wait. Use it as a literal:
//
//	l := &users.MemoryLimiter{Points: 5, Window: time.Hour}
//
// It sets itself up on first use; its fields must not change after that.
// A MemoryLimiter with Points below 1 or Window not positive is
// misconfigured: New refuses it in Limits, and its Allow answers an error
// (not a *RateLimitError), so that a Manager fails the operation rather
// than allow or deny without a limit.
//
// Memory is bounded: a key costs about 100 bytes plus 8 bytes per recorded
// event (at most Points), a key with no event left in the window is
// dropped as new events arrive, and at most MaxKeys keys are kept: beyond
// that the least recently used key is forgotten, so its count starts
// again. Set MaxKeys above the number of keys you expect to be active
// within one window.
//
// Each process has its own counts: several instances of an application
// each allow Points per window. Supply a shared Limiter (pgstore's or
// mysqlstore's, or one on your own database or Redis) to limit across
// instances.
//
// It is safe for concurrent use.
type MemoryLimiter struct {
	Points  int              // events allowed per key in any Window; at least 1
	Window  time.Duration    // the sliding window; positive
	MaxKeys int              // keys kept at most; 0: 100,000
	Now     func() time.Time // the clock; nil: time.Now

	mu         sync.Mutex
	base       time.Time // event times are durations since base; zero until first use
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

// check reports a misconfigured limiter.
func (l *MemoryLimiter) check() error {
	if l.Points < 1 || l.Window <= 0 || l.MaxKeys < 0 {
		return fmt.Errorf("users: MemoryLimiter needs Points >= 1, Window > 0 and MaxKeys >= 0, not %d, %v and %d", l.Points, l.Window, l.MaxKeys)
	}
	return nil
}

// elapsed returns the time since base, setting the limiter up on first use.
// l.mu is held.
func (l *MemoryLimiter) elapsed() time.Duration {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	t := now()
	if l.keys == nil {
		l.keys = make(map[string]*limiterEntry)
		l.base = t
	}
	return t.Sub(l.base)
}

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(_ context.Context, key string) (time.Duration, error) {
	if err := l.check(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.elapsed()
	cutoff := now - l.Window // an event at t counts while t > cutoff
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
	if e.n >= l.Points {
		retry := max(e.ring[e.first]+l.Window-now, 0)
		return retry, &RateLimitError{Limit: l.Points, Window: l.Window, RetryAfter: retry}
	}
	e.push(now, l.Points)
	return 0, nil
}

// Reset implements Limiter.
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
	maxKeys := l.MaxKeys
	if maxKeys == 0 {
		maxKeys = defaultLimiterMaxKeys
	}
	for len(l.keys) > maxKeys {
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

// allowMail asks the public mail limiter (Limits.Mail) whether a mail
// may go to the address with this key (a normalised email). A non-nil
// denied (matching ErrRateLimited) means it is over the limit; a non-nil
// err, that the limiter failed.
func (m *Manager) allowMail(ctx context.Context, key string) (denied, err error) {
	return m.askLimiter(ctx, m.mailLimit, key, "mail limiter", "mail")
}

// allowAdminMail is allowMail for mail an administrator asked for
// (Limits.AdminMail).
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
		m.observe(Observation{Kind: KindRateLimited, Limiter: event})
		return err, nil
	default:
		return nil, fmt.Errorf("%s: %w", name, err)
	}
}

// mailHeld logs a mail the mail limiter held back: its kind and user id,
// never the address.
func (m *Manager) mailHeld(ctx context.Context, kind mailKind, userID string) {
	m.log.InfoContext(ctx, "users: recipient over the mail rate limit; no mail queued",
		"kind", string(kind), "user_id", userID)
}
