package users

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gousers/users/store"
)

// HealthStatus is the state of a Health report or of one check, in
// Directus's words.
type HealthStatus string

// Health states, from best to worst.
const (
	HealthOK    HealthStatus = "ok"
	HealthWarn  HealthStatus = "warn"
	HealthError HealthStatus = "error"
)

// Health is what Manager.Health reports, in the shape of Directus's
// GET /server/health (draft-inadarei-api-health-check): an overall Status,
// the worst of the checks', and the checks by name.
type Health struct {
	Status HealthStatus `json:"status"`
	// ReleaseID is this module's version, as the build recorded it
	// ("(devel)" in a build from a checkout).
	ReleaseID string `json:"releaseId,omitempty"`
	// ServiceID names the instance; the Manager leaves it empty for the
	// host to fill.
	ServiceID string `json:"serviceId,omitempty"`
	// Checks maps a check's name ("database:responseTime",
	// "outbox:pending", …) to its result (one element, as Directus does).
	Checks map[string][]HealthCheck `json:"checks,omitempty"`
}

// HealthCheck is one check's result.
type HealthCheck struct {
	// ComponentType is Directus's: "datastore", "email" or "system".
	ComponentType string       `json:"componentType"`
	Status        HealthStatus `json:"status"`
	// ObservedValue is what was measured, in ObservedUnit ("ms", "s", or
	// none for a count); Threshold is the value at which the check warns
	// (for hashing:running, which never warns, the number of slots).
	ObservedValue any    `json:"observedValue,omitempty"`
	ObservedUnit  string `json:"observedUnit,omitempty"`
	Threshold     any    `json:"threshold,omitempty"`
	// Output says what is wrong, or what was seen, in words. It may name
	// the mail relay and quote its reply; it never contains a password,
	// a token or a mail's text.
	Output string `json:"output,omitempty"`
}

// Health checks what the Manager depends on and reports it in the shape
// of Directus's GET /server/health:
//
//   - database:responseTime — the store answers (store.Outbox.MailStats), and
//     within HealthThresholds.DatabaseResponseTime; a store that does not
//     answer is the one error (Status "error": serving cannot work);
//   - outbox:pending and outbox:oldestPendingAge — the mail backlog and
//     how long its oldest mail has waited; outbox:failed counts mails given
//     up (for information: it never warns);
//   - email:lastDelivery — the last delivery error, when a later delivery
//     has not succeeded since;
//   - email:connection — the relay accepts a session (only for a Mailer
//     that can check its relay, see Mailer), probed at most every
//     HealthThresholds.MailerProbeInterval;
//   - hashing:running — calls hashing now, against the number of slots
//     (Limits.HashConcurrency) as its Threshold (for information: it
//     never warns);
//   - hashing:waiting — calls waiting for a hashing slot, and calls
//     refused at the limit lately (the count since New is in its Output).
//
// Every check but the database's warns rather than fails: the Manager
// still serves, and mail waits in the outbox. The error is ctx's, when ctx
// ended before the store answered; a store that fails otherwise is
// reported in the Health, not as an error.
func (m *Manager) Health(ctx context.Context) (Health, error) {
	o := m.health
	h := Health{Status: HealthOK, ReleaseID: m.releaseID, Checks: map[string][]HealthCheck{}}
	add := func(name string, c HealthCheck) {
		h.Checks[name] = []HealthCheck{c}
		if rank(c.Status) > rank(h.Status) {
			h.Status = c.Status
		}
	}

	start := time.Now()
	stats, err := m.store.MailStats(ctx)
	took := time.Since(start)
	if err != nil && ctx.Err() != nil {
		return Health{}, ctx.Err()
	}
	db := HealthCheck{ComponentType: "datastore", Status: HealthOK, ObservedUnit: "ms",
		ObservedValue: millis(took), Threshold: millis(o.DatabaseResponseTime)}
	switch {
	case err != nil:
		db.Status, db.Output = HealthError, "the store did not answer"
		// Anyone may ask for the health, often: warn at most once a
		// minute, so that a caller cannot flood the log while the store
		// is down.
		now := time.Now().UnixNano()
		if last := m.healthLog.Load(); now-last >= int64(time.Minute) && m.healthLog.CompareAndSwap(last, now) {
			m.log.WarnContext(ctx, "users: health: the store did not answer", "error", err)
		}
	case took > o.DatabaseResponseTime:
		db.Status, db.Output = HealthWarn, "the store answered slowly"
	}
	add("database:responseTime", db)

	now := m.clock()
	if err == nil {
		pending := HealthCheck{ComponentType: "datastore", Status: HealthOK, ObservedValue: stats.Pending, Threshold: o.OutboxPending}
		if stats.Pending >= o.OutboxPending {
			pending.Status, pending.Output = HealthWarn, fmt.Sprintf("%d mails wait in the outbox", stats.Pending)
		}
		add("outbox:pending", pending)
		age := HealthCheck{ComponentType: "datastore", Status: HealthOK, ObservedValue: 0.0, ObservedUnit: "s",
			Threshold: o.OutboxAge.Seconds()}
		if stats.OldestPending != nil {
			a := max(now.Sub(*stats.OldestPending), 0)
			age.ObservedValue = a.Round(time.Millisecond).Seconds()
			if a > o.OutboxAge {
				age.Status, age.Output = HealthWarn, fmt.Sprintf("the oldest pending mail was queued %s ago", a.Round(time.Second))
			}
		}
		add("outbox:oldestPendingAge", age)
		add("outbox:failed", HealthCheck{ComponentType: "datastore", Status: HealthOK, ObservedValue: stats.Failed,
			Output: "mails given up (for information)"})
	}

	add("email:lastDelivery", m.deliveries.check(now, o.DeliveryErrorWindow))
	if v, ok := m.mailer.(relayChecker); ok && o.MailerProbeInterval > 0 {
		add("email:connection", m.probe.check(ctx, v, now, o))
	}
	running, waiting := m.hashGate.load()
	add("hashing:running", HealthCheck{ComponentType: "system", Status: HealthOK, ObservedValue: running,
		Threshold: m.hashGate.limit, Output: "hashing slots in use (for information)"})
	add("hashing:waiting", m.hashCheck(now, waiting))
	return h, nil
}

func rank(s HealthStatus) int {
	switch s {
	case HealthWarn:
		return 1
	case HealthError:
		return 2
	}
	return 0
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// deliveryState remembers the last delivery outcomes this process saw.
type deliveryState struct {
	mu          sync.Mutex
	lastSuccess time.Time
	lastFailure time.Time
	lastError   string
	relayError  bool // the last failure concerns the relay, not the recipient
}

// noteDelivery records a delivery attempt's outcome and tells the
// Observer.
func (m *Manager) noteDelivery(mail *store.Mail, sendErr error, u store.MailUpdate, now time.Time) {
	d := &m.deliveries
	d.mu.Lock()
	if sendErr == nil {
		d.lastSuccess = now
	} else {
		d.lastFailure, d.lastError = now, u.LastError
		d.relayError = !errors.Is(sendErr, ErrPermanent)
	}
	d.mu.Unlock()
	if sendErr == nil {
		m.observe(Observation{Kind: KindMailSent, Mail: mail.Kind, Duration: max(now.Sub(mail.CreatedAt), 0)})
	} else {
		m.observe(Observation{Kind: KindMailFailed, Mail: mail.Kind, Final: u.Status == store.MailFailed})
	}
}

func (d *deliveryState) check(now time.Time, window time.Duration) HealthCheck {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := HealthCheck{ComponentType: "email", Status: HealthOK}
	if d.lastFailure.IsZero() || d.lastSuccess.After(d.lastFailure) {
		return c
	}
	ago := max(now.Sub(d.lastFailure), 0)
	c.ObservedValue, c.ObservedUnit = ago.Round(time.Millisecond).Seconds(), "s"
	c.Output = "last delivery failed " + ago.Round(time.Second).String() + " ago: " + d.lastError
	if d.relayError && ago < window {
		c.Status = HealthWarn
	}
	return c
}

// probeState caches the last probe of the mail relay.
type probeState struct {
	mu      sync.Mutex
	at      time.Time // when the last probe ended; zero: none yet
	err     error
	running bool
}

// check probes the relay when the last result is older than the
// interval and no other call is probing; otherwise it reports the last
// result.
func (p *probeState) check(ctx context.Context, v relayChecker, now time.Time, o HealthThresholds) HealthCheck {
	p.mu.Lock()
	if !p.running && (p.at.IsZero() || now.Sub(p.at) >= o.MailerProbeInterval) {
		p.running = true
		p.mu.Unlock()
		pctx, cancel := context.WithTimeout(ctx, o.MailerProbeTimeout)
		err := v.Verify(pctx)
		cancel()
		p.mu.Lock()
		p.running = false
		if ctx.Err() == nil { // a caller that left says nothing about the relay
			p.at, p.err = now, err
		}
	}
	at, err := p.at, p.err
	p.mu.Unlock()
	c := HealthCheck{ComponentType: "email", Status: HealthOK}
	switch {
	case at.IsZero():
		c.Output = "not probed yet"
	case err != nil:
		c.Status, c.Output = HealthWarn, "the mail relay refused a session (mail waits in the outbox): "+err.Error()
	}
	return c
}

// relayChecker is a Mailer that can check its relay without sending mail
// (see Mailer).
type relayChecker interface {
	Verify(ctx context.Context) error
}

// gateStats counts the calls refused at the hashing limit.
type gateStats struct {
	mu    sync.Mutex
	count uint64
	last  time.Time
}

func (g *gateStats) shed(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.count++
	g.last = now
}

// hashCheck is the hashing:waiting check, given how many calls wait.
func (m *Manager) hashCheck(now time.Time, waiting int) HealthCheck {
	threshold := m.health.HashWaiting
	if threshold == 0 {
		threshold = max(m.hashGate.queue/2, 1)
	}
	c := HealthCheck{ComponentType: "system", Status: HealthOK, ObservedValue: waiting, Threshold: threshold}
	m.gateStats.mu.Lock()
	last, shed := m.gateStats.last, m.gateStats.count
	m.gateStats.mu.Unlock()
	switch {
	case !last.IsZero() && now.Sub(last) < m.health.HashShedWindow:
		c.Status = HealthWarn
		c.Output = fmt.Sprintf("requests were refused at the hashing limit %s ago (%d since start)",
			max(now.Sub(last), 0).Round(time.Second), shed)
	case waiting >= threshold:
		c.Status = HealthWarn
		c.Output = fmt.Sprintf("%d requests wait for one of %d hashing slots", waiting, m.hashGate.limit)
	}
	return c
}

// moduleVersion is this module's version as the build recorded it.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	const path = "github.com/gousers/users"
	if bi.Main.Path == path {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return ""
}
