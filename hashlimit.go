package users

import "context"

// hashGate bounds password hashing: at most limit hashes run at once, at
// most queue more wait for a slot, and any further one fails at once with
// ErrBusy. A password hash is deliberately expensive in memory (argon2id:
// its Memory parameter, per call) and CPU, so without a bound a burst of
// logins or registrations would take the process's memory with it; with
// one, memory stays near limit × Memory and the excess is refused fast.
type hashGate struct {
	admit chan struct{} // a token per call in the gate (running or waiting)
	run   chan struct{} // a token per call hashing
}

func newHashGate(limit, queue int) *hashGate {
	return &hashGate{admit: make(chan struct{}, limit+queue), run: make(chan struct{}, limit)}
}

// acquire waits for a hashing slot. It returns ErrBusy at once when the
// queue is full, and ctx's error when ctx is done first. On nil the caller
// must call release.
func (g *hashGate) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case g.admit <- struct{}{}:
	default:
		return ErrBusy
	}
	select {
	case g.run <- struct{}{}:
	case <-ctx.Done():
		<-g.admit
		return ctx.Err()
	}
	// Both cases may have been ready; a done ctx wins, so that no hashing
	// starts after a deadline.
	if err := ctx.Err(); err != nil {
		g.release()
		return err
	}
	return nil
}

func (g *hashGate) release() {
	<-g.run
	<-g.admit
}
