package users

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"time"

	"github.com/gousers/users/store"
)

// Event is something that happened to a user, as the activity log keeps it
// and as event handlers and before-hooks (see Hooks) receive it.
//
// Flow names what happened: "registered", "verified", "invited",
// "invite_accepted", "created", "updated" (an administrator changed role,
// status, email, names…), "deleted", "signed_in", "signed_out",
// "password_reset" or "password_changed". Action is the action value
// Directus's activity log uses for it: "login" for signed_in; "create" for
// registered, invited and created; "delete" for deleted; "update" for the
// others (Directus logs no logout, registration, verification, invitation
// or reset: those use the same values, and Flow tells them apart).
type Event struct {
	// ID is the activity entry's id (increasing); 0 in a before-hook.
	ID     int64
	Flow   string
	Action string
	// UserID, Email and Role are the user's id, address and role id at the
	// time ("" for none; a before-hook of a new user gets no UserID).
	UserID, Email, Role string
	// Actor is who acted: the user itself, an administrator (the
	// RequestInfo.Actor of the call) or "" (anonymous: a registration).
	Actor string
	Time  time.Time
	// RequestID, IP, UserAgent and Origin come from the call's RequestInfo
	// (see WithRequest); "" when none was given.
	RequestID, IP, UserAgent, Origin string
	// Metadata is, in a before-hook of Register, CreateUser or Invite, the
	// new user's metadata, which the hook may fill; nil elsewhere.
	Metadata map[string]any
}

// Hooks is an Option: code of the host application that runs before some
// calls (and may refuse or adjust them) and after every change (event
// handlers). Several Hooks options merge: a later non-nil field wins, and
// Handlers are merged by name.
//
// A before-hook gets the Event the call is about to record, with the
// request's facts, and may change its Role and Metadata (Register,
// CreateUser, Invite; a role must exist). A non-nil error refuses the
// call, as does a panic or running longer than Timeout; the refusal is
// logged (not the hook's message, which may hold data) and nothing is
// written. A refused CreateUser or Invite address is a *ValidationError
// matching ErrInvalidPayload (Directus's 400 INVALID_PAYLOAD); a refused
// sign-in is ErrInvalidCredentials. BeforeRegister runs for every
// well-formed registration that passes the email filter, of a new address
// or a known one, and a refused registration still returns nil having done
// the same work, so that neither its answer nor its duration tells whether
// the address has an account.
//
// Handlers receive every event after the change that caused it has
// committed, at least once, in the order of their IDs for one user, from
// Manager.Run (or DeliverEvents). The Event is written in the transaction
// of the change, with one pending delivery per handler name configured when
// it is written: give every instance the same Handlers, and keep a
// handler's name when its code changes (a renamed handler's pending
// deliveries are not delivered). A handler that returns an error or panics
// is retried with Delivery's backoff, without end (later events of that
// user wait for it); the deliveries of a process that dies are taken over
// once their lease (Delivery.Lease) ends, so a handler must be idempotent
// (Event.ID identifies a delivery). A handler runs for at most
// Delivery.SendTimeout.
type Hooks struct {
	BeforeRegister func(ctx context.Context, e *Event) error
	BeforeCreate   func(ctx context.Context, e *Event) error
	BeforeInvite   func(ctx context.Context, e *Event) error // once per address
	BeforeSignIn   func(ctx context.Context, e *Event) error
	// Timeout bounds each before-hook. Default 2s.
	Timeout time.Duration
	// Handlers are the event handlers, by a stable name.
	Handlers map[string]func(ctx context.Context, e Event) error
	// Retention, when positive, is how long the activity log keeps an
	// event: Run deletes older ones, in batches, once an hour. Default 0:
	// kept forever.
	Retention time.Duration
}

// hooks is the Manager's merged Hooks.
type hooks struct {
	Hooks
	names []string // the handler names, sorted
}

const defaultHookTimeout = 2 * time.Second

func (h Hooks) apply(c *config) error {
	cur := &c.hooks
	for _, f := range []struct {
		dst *func(context.Context, *Event) error
		src func(context.Context, *Event) error
	}{
		{&cur.BeforeRegister, h.BeforeRegister}, {&cur.BeforeCreate, h.BeforeCreate},
		{&cur.BeforeInvite, h.BeforeInvite}, {&cur.BeforeSignIn, h.BeforeSignIn},
	} {
		if f.src != nil {
			*f.dst = f.src
		}
	}
	if h.Timeout != 0 {
		cur.Timeout = h.Timeout
	}
	if h.Retention != 0 {
		cur.Retention = h.Retention
	}
	for name, fn := range h.Handlers {
		if cur.Handlers == nil {
			cur.Handlers = make(map[string]func(context.Context, Event) error)
		}
		cur.Handlers[name] = fn
	}
	return nil
}

func (h *Hooks) check() error {
	switch {
	case h.Timeout < 0:
		return optionError("Hooks.Timeout", nil, "must not be negative, not %v", h.Timeout)
	case h.Retention < 0:
		return optionError("Hooks.Retention", nil, "must not be negative, not %v", h.Retention)
	}
	for name, fn := range h.Handlers {
		switch {
		case name == "" || len(name) > 255:
			return optionError("Hooks.Handlers", nil, "a handler name must be 1 to 255 bytes")
		case fn == nil:
			return optionError("Hooks.Handlers", nil, "handler %q is nil", name)
		}
	}
	return nil
}

func newHooks(h Hooks) hooks {
	if h.Timeout == 0 {
		h.Timeout = defaultHookTimeout
	}
	return hooks{Hooks: h, names: slices.Sorted(maps.Keys(h.Handlers))}
}

// RequestInfo is what the Manager records about the request behind a call
// (see WithRequest): the client's IP, User-Agent and Origin headers, the
// request's id, and the id of the user making it (Actor: the administrator
// behind CreateUser, UpdateUser, Invite…; "" when anonymous).
type RequestInfo struct {
	IP, UserAgent, Origin, ID, Actor string
}

type requestKey struct{}

// WithRequest returns a copy of ctx that carries r to the Manager's calls,
// which record it in their events. httpapi and webui set it for every
// request they serve.
func WithRequest(ctx context.Context, r RequestInfo) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

func requestFrom(ctx context.Context) RequestInfo {
	r, _ := ctx.Value(requestKey{}).(RequestInfo)
	return r
}

// Flows of events, and their Directus actions.
const (
	flowRegistered      = "registered"
	flowVerified        = "verified"
	flowInvited         = "invited"
	flowInviteAccepted  = "invite_accepted"
	flowCreated         = "created"
	flowUpdated         = "updated"
	flowDeleted         = "deleted"
	flowSignedIn        = "signed_in"
	flowSignedOut       = "signed_out"
	flowPasswordReset   = "password_reset"
	flowPasswordChanged = "password_changed"
)

// actionOf is the Directus action of a flow.
func actionOf(flow string) string {
	switch flow {
	case flowSignedIn:
		return "login"
	case flowRegistered, flowInvited, flowCreated:
		return "create"
	case flowDeleted:
		return "delete"
	}
	return "update"
}

// actorAdmin, passed as an event's actor, stands for the RequestInfo's
// Actor (an administrator's call).
const actorAdmin = "\x00admin"

// event returns the store record of an event about u (nil: the user is
// filled by the store, for a logout by token). actor is the acting user's
// id, actorAdmin for the request's actor, or "" for anonymous.
func (m *Manager) event(ctx context.Context, flow string, u *store.User, actor string, now time.Time) *store.Event {
	r := requestFrom(ctx)
	if actor == actorAdmin {
		actor = r.Actor
	}
	e := &store.Event{
		Action: actionOf(flow), Flow: flow, Collection: "directus_users", Actor: actor, Time: now,
		IP: clip(r.IP, 255), UserAgent: clip(r.UserAgent, maxUserAgentBytes), Origin: clip(r.Origin, 1024),
		RequestID: clip(r.ID, 255), Handlers: m.hooks.names,
	}
	if u != nil {
		e.Item, e.Email = u.ID, u.Email
		if u.Role != nil {
			e.Role = *u.Role
		}
	}
	return e
}

// events returns the events as the list a store write takes (the backend
// nudges the delivery worker once the write committed).
func (m *Manager) events(es ...*store.Event) []*store.Event { return es }

// publicEvent is the Event of a stored one.
func publicEvent(e *store.Event) Event {
	return Event{
		ID: e.ID, Flow: e.Flow, Action: e.Action, UserID: e.Item, Email: e.Email, Role: e.Role, Actor: e.Actor,
		Time: e.Time, RequestID: e.RequestID, IP: e.IP, UserAgent: e.UserAgent, Origin: e.Origin,
	}
}

// errHookRefused is what a refusing before-hook turns into, before the
// flow maps it to its own error.
var errHookRefused = errors.New("refused by the application")

// before runs a before-hook (nil: none) on e, bounded by the Timeout. It
// returns errHookRefused when the hook refuses, fails, panics or times
// out, and logs why; e is changed only by a hook that accepted in time.
func (m *Manager) before(ctx context.Context, name string, hook func(context.Context, *Event) error, e *Event) error {
	if hook == nil {
		return nil
	}
	r := requestFrom(ctx)
	e.RequestID, e.IP, e.UserAgent, e.Origin = r.ID, r.IP, r.UserAgent, r.Origin
	if e.Actor == actorAdmin {
		e.Actor = r.Actor
	}
	hctx, cancel := context.WithTimeout(ctx, m.hooks.Timeout)
	defer cancel()
	c := *e
	c.Metadata = cloneMetadata(e.Metadata)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				m.log.Error("users: before-hook panicked", "hook", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- errors.New("panic")
			}
		}()
		done <- hook(hctx, &c)
	}()
	var err error
	select {
	case err = <-done:
	case <-hctx.Done():
		err = hctx.Err()
	}
	if err != nil {
		m.log.WarnContext(ctx, "users: a before-hook refused the call", "hook", name, "user_id", e.UserID,
			"request_id", e.RequestID, "timed_out", errors.Is(err, context.DeadlineExceeded))
		return errHookRefused
	}
	*e = c
	return nil
}

// cloneMetadata copies the top level of a metadata map (nil stays nil).
func cloneMetadata(md map[string]any) map[string]any {
	if md == nil {
		return nil
	}
	return maps.Clone(md)
}

// refusedPayload is the error of a refused CreateUser or invite address.
func refusedPayload() error {
	return &ValidationError{Field: "email", Reason: "refused by the application", Err: ErrInvalidPayload}
}

// DeliverEvents hands every due event delivery to its handler, batch
// after batch, and returns how many were handled (Sent), are to be retried
// (Retried) and — always 0 here — given up (Failed). It is what Run does
// on each tick, after the mail. Deliveries another worker holds are left
// to it; a Store error stops it.
func (m *Manager) DeliverEvents(ctx context.Context) (DeliveryReport, error) {
	var rep DeliveryReport
	if len(m.hooks.names) == 0 {
		return rep, nil
	}
	d := m.delivery
	for {
		now := m.clock()
		batch, err := m.store.ClaimEvents(ctx, now, now.Add(d.Lease), d.BatchSize)
		if err != nil {
			return rep, opErr("deliver events", err)
		}
		if len(batch) == 0 {
			return rep, nil
		}
		firstErr := fanOut(batch, d.Concurrency, func(dl *store.EventDelivery) (bool, error) {
			return m.deliverEvent(ctx, dl)
		}, func(ok bool, err error) {
			switch {
			case err != nil:
			case ok:
				rep.Sent++
			default:
				rep.Retried++
			}
		})
		if firstErr != nil {
			return rep, opErr("deliver events", firstErr)
		}
		if ctx.Err() != nil {
			return rep, nil
		}
	}
}

// deliverEvent runs one claimed delivery's handler and records the
// outcome: true when handled. The error is a Store error only.
func (m *Manager) deliverEvent(ctx context.Context, dl *store.EventDelivery) (bool, error) {
	e := publicEvent(dl.Event)
	fn := m.hooks.Handlers[dl.Handler]
	var herr error
	if fn == nil {
		herr = fmt.Errorf("no handler named %q in this process", dl.Handler)
	} else {
		hctx, cancel := context.WithTimeout(ctx, m.delivery.SendTimeout)
		herr = runHandler(hctx, fn, e)
		cancel()
	}
	wctx := context.WithoutCancel(ctx)
	if herr == nil {
		if err := m.store.AckEvent(wctx, e.ID, dl.Handler); err != nil && !isNotFound(err) {
			return false, err
		}
		return true, nil
	}
	now := m.clock()
	r := store.EventRetry{Attempts: dl.Attempts + 1, LastError: truncate(herr.Error(), 500)}
	if errors.Is(herr, context.Canceled) && ctx.Err() != nil {
		// Shutting down: due again at once, and not counted.
		r.Attempts, r.LastError = dl.Attempts, dl.LastError
		r.NextAttemptAt = now
	} else {
		r.NextAttemptAt = now.Add(m.delivery.backoff(r.Attempts))
		m.log.Warn("users: event handler failed", "handler", dl.Handler, "event_id", e.ID, "flow", e.Flow,
			"user_id", e.UserID, "attempt", r.Attempts, "error", r.LastError)
	}
	if err := m.store.RetryEvent(wctx, e.ID, dl.Handler, r); err != nil && !isNotFound(err) {
		return false, err
	}
	return false, nil
}

// runHandler calls fn, turning a panic into an error.
func runHandler(ctx context.Context, fn func(context.Context, Event) error, e Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return fn(ctx, e)
}

// pruneBatch is how many events one PruneEvents call deletes.
const pruneBatch = 1000

// PruneActivity deletes the events older than Hooks.Retention from the
// activity log, in batches of 1000 (with their pending deliveries), and
// returns how many it deleted; nothing without a Retention. Run calls it
// once an hour.
func (m *Manager) PruneActivity(ctx context.Context) (int, error) {
	if m.hooks.Retention <= 0 {
		return 0, nil
	}
	before := m.clock().Add(-m.hooks.Retention)
	total := 0
	for {
		n, err := m.store.PruneEvents(ctx, before, pruneBatch)
		total += n
		if err != nil {
			return total, opErr("prune activity", err)
		}
		if n < pruneBatch || ctx.Err() != nil {
			return total, nil
		}
	}
}
