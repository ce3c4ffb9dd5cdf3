package sqlstore

import "time"

// Renewal is what a store's RenewSession does with a session (see
// store.Sessions.RenewSession).
type Renewal int

const (
	RenewAdvance Renewal = iota // the current generation: advance it
	RenewGrace                  // the one before, within the grace: answer the session as it is
	RenewReused                 // any other: a retired token came back, end the session
)

// Renew judges a renewal that presents generation to a session at
// generation cur, last renewed at refreshed.
func Renew(generation, cur int64, refreshed, now time.Time, grace time.Duration) Renewal {
	switch {
	case generation == cur:
		return RenewAdvance
	case generation == cur-1 && now.Before(refreshed.Add(grace)):
		return RenewGrace
	}
	return RenewReused
}
