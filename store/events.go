package store

import (
	"context"
	"time"
)

// Events keeps the lifecycle events of users — the activity log — and
// their deliveries to the Manager's event handlers. An event is inserted
// through [Effects] (or the events argument of the methods that take no
// Effects), in the transaction of the change it reports, together with one
// pending delivery per name in its Handlers. A delivery stays until the
// Manager acknowledges it (AckEvent); the event itself stays until
// PruneEvents removes it.
type Events interface {
	// ClaimEvents leases up to limit pending deliveries that are due
	// (NextAttemptAt at or before now) and not leased (no lease, or one
	// that ended at or before now), and that are the first pending
	// delivery of their handler for their event's Item: a later event of
	// the same user waits until every earlier one of that handler is
	// acknowledged, so each handler sees a user's events in the order of
	// their IDs. Each claimed delivery's lease is set to leaseUntil before
	// it is returned, so two callers — in one process or several — never
	// claim the same delivery while its lease runs. Lowest event ID first.
	ClaimEvents(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*EventDelivery, error)

	// AckEvent deletes the delivery of the event to handler: it was
	// handled. ErrNotFound when there is none.
	AckEvent(ctx context.Context, eventID int64, handler string) error

	// RetryEvent records a failed attempt: it sets the delivery's
	// Attempts, LastError and NextAttemptAt from r and clears its lease.
	// ErrNotFound when there is no such delivery.
	RetryEvent(ctx context.Context, eventID int64, handler string, r EventRetry) error

	// ListEvents returns the events q selects, in q.Sort's order then ID
	// ascending (no Sort: ID ascending), q.Offset skipped, at most q.Limit
	// (0: all). Selection, order and paging are the back-end's own query.
	// A filter or sort field that is not an event field is an error; an
	// operator the store does not run is an *UnsupportedError.
	ListEvents(ctx context.Context, q EventQuery) ([]*Event, error)

	// CountEvents returns how many events q selects, ignoring its Sort,
	// Limit and Offset.
	CountEvents(ctx context.Context, q EventQuery) (int, error)

	// PruneEvents deletes up to limit events whose Time is before before,
	// oldest first, with their pending deliveries, and returns how many it
	// deleted. The Manager calls it in batches until it deletes fewer than
	// limit. A store may keep the newest event of all, whatever its Time,
	// when deleting it would let a later event get its ID again.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int, error)
}

// Event is one lifecycle event of a user, and its entry in the activity
// log (shaped as Directus's directus_activity).
type Event struct {
	// ID is assigned by the Store when it inserts the event, increasing
	// with each insert; it is zero in the Event handed to an insert.
	ID int64
	// Action is Directus's action value: "login", "create", "update" or
	// "delete". Flow names what happened ("registered", "signed_in"…).
	Action string
	Flow   string
	// Collection is "directus_users"; Item the id of the user the event
	// concerns.
	Collection string
	Item       string
	// Actor is the id of the user who acted ("" when anonymous): Directus's
	// "user" field.
	Actor string
	Time  time.Time
	// IP, UserAgent and Origin describe the request ("" when unknown);
	// RequestID is the request's id.
	IP, UserAgent, Origin, RequestID string
	// Email and Role are the user's address and role id at the time of the
	// event ("" when none).
	Email, Role string
	// Handlers, on insert, names the handlers the event is delivered to:
	// one pending delivery per name. Not stored with the event; empty in
	// what the Store returns.
	Handlers []string
}

// EventDelivery is a claimed delivery of an event to one handler.
type EventDelivery struct {
	Event     *Event
	Handler   string
	Attempts  int    // failed attempts so far
	LastError string // the last failed attempt's error
}

// EventRetry is the outcome of a failed delivery attempt; see
// Events.RetryEvent.
type EventRetry struct {
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
}

// EventQuery selects events for ListEvents and CountEvents. Zero value:
// every event.
type EventQuery struct {
	// Filter, when not nil, must hold. It names the event fields
	// (FieldID, FieldAction, FieldFlow, FieldCollection, FieldItem,
	// FieldUser, FieldIP, FieldUserAgent, FieldOrigin, FieldRequestID,
	// FieldEmail, FieldRole) with the byte-exact operators (no _i ones).
	// FieldID compares the decimal id as a string with _eq, _neq, _in and
	// _nin only.
	Filter *Filter
	// Sort orders the result: FieldID, FieldTimestamp, FieldAction,
	// FieldFlow, FieldCollection, FieldItem, FieldUser.
	Sort          []Sort
	Limit, Offset int
}

// Fields of an event, for EventQuery (FieldID, FieldEmail and FieldRole
// name the event's id, email and role).
const (
	FieldAction     Field = "action"
	FieldFlow       Field = "flow"
	FieldCollection Field = "collection"
	FieldItem       Field = "item"
	FieldUser       Field = "user" // the actor
	FieldTimestamp  Field = "timestamp"
	FieldIP         Field = "ip"
	FieldUserAgent  Field = "user_agent"
	FieldOrigin     Field = "origin"
	FieldRequestID  Field = "request_id"
)
