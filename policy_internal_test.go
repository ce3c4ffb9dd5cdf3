package users

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A check that runs past its limit answers "no" at the limit, and the
// hashing slot it ran in stays taken until the abandoned work returns:
// released then, once. Checked against releasing at the limit: the gate
// showed no slot taken while the work still ran, and this test failed.
func TestWithinHandsTheSlotToLateWork(t *testing.T) {
	t.Parallel()
	g := newHashGate(1, 0, time.Second, time.Millisecond)
	sl, err := g.acquire(context.Background(), gateTicket{})
	require.NoError(t, err)

	unblock, started := make(chan struct{}), make(chan struct{})
	s := &Settings{PasswordPolicyDescription: "anything"}
	err = policyInSlot(s, sl, 10*time.Millisecond, func() bool {
		close(started)
		<-unblock
		return true
	})
	<-started
	require.ErrorIs(t, err, ErrPasswordPolicy, "past the limit: refused")
	running, _ := g.load()
	assert.Equal(t, 1, running, "the late work keeps the slot")
	_, err = g.acquire(context.Background(), gateTicket{})
	require.ErrorIs(t, err, ErrBusy)

	close(unblock)
	require.Eventually(t, func() bool { r, _ := g.load(); return r == 0 }, 5*time.Second, time.Millisecond)
	sl.release() // a second release changes nothing
	running, _ = g.load()
	assert.Zero(t, running)

	ok, timedOut := within(func() bool { return true }, time.Second, func() { t.Error("late called for work in time") })
	assert.True(t, ok)
	assert.False(t, timedOut)

	// In time: the answer, and the slot released at once when it is no.
	for _, answer := range []bool{true, false} {
		sl, err := g.acquire(context.Background(), gateTicket{})
		require.NoError(t, err)
		err = policyInSlot(s, sl, time.Second, func() bool { return answer })
		running, _ := g.load()
		if answer {
			require.NoError(t, err)
			assert.Equal(t, 1, running, "kept for the hash that follows")
			sl.release()
		} else {
			require.ErrorIs(t, err, ErrPasswordPolicy)
			assert.Zero(t, running)
		}
	}
}
