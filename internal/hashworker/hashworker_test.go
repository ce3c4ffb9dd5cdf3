package hashworker

import (
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// TestMain makes the test binary a hashing child when the Pool under test
// starts one (Env set).
func TestMain(m *testing.M) {
	if code := Main(); code >= 0 {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// cheap is an argon2id with 4 lanes (so that each hash starts goroutines,
// and the child threads) that costs little.
var cheap = users.Argon2id{Memory: 64, Time: 1, Threads: 4}

func start(t *testing.T, workers, nice int) *Pool {
	t.Helper()
	p, err := Start(Config{Hasher: cheap, Workers: workers, Nice: nice})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// The children hash as the hasher does in process: each verifies the
// other's hashes, and a wrong password does not match.
func TestHashAndVerifyMatchInProcess(t *testing.T) {
	t.Parallel()
	p := start(t, 2, 0)
	h, err := p.Hash("correct horse")
	require.NoError(t, err)
	ok, err := cheap.Verify("correct horse", h)
	require.NoError(t, err)
	assert.True(t, ok)

	local, err := cheap.Hash("battery staple")
	require.NoError(t, err)
	ok, err = p.Verify("battery staple", local)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = p.Verify("battery stapler", local)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.False(t, p.NeedsRehash(h))
	assert.True(t, p.NeedsRehash(strings.Replace(h, "m=64", "m=128", 1)))
}

// A hasher's error comes back as the call's error, with the hasher's own
// text and never the password; the child keeps serving.
func TestHasherErrorIsTheCallsError(t *testing.T) {
	t.Parallel()
	p := start(t, 1, 0)
	pids := p.PIDs()
	_, want := cheap.Verify("s3cret-password", "$argon2id$garbage")
	require.Error(t, want)
	ok, err := p.Verify("s3cret-password", "$argon2id$garbage")
	require.Error(t, err)
	assert.False(t, ok)
	assert.Equal(t, want.Error(), err.Error())
	assert.NotContains(t, err.Error(), "s3cret")
	assert.Equal(t, pids, p.PIDs(), "an answer that is an error does not restart the child")
	_, err = p.Hash("x")
	assert.NoError(t, err)
}

// Calls run at once, one per child, and every answer reaches its caller.
func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	p := start(t, 3, 0)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			pw := strings.Repeat("p", i+1)
			h, err := p.Hash(pw)
			if !assert.NoError(t, err) {
				return
			}
			ok, err := p.Verify(pw, h)
			assert.NoError(t, err)
			assert.True(t, ok, "password %d", i)
		})
	}
	wg.Wait()
}

// A child that dies fails the call it serves (or the next one), and the
// one after runs in a new child.
func TestDeadChildIsReplaced(t *testing.T) {
	t.Parallel()
	p := start(t, 1, 0)
	old := p.PIDs()
	require.Len(t, old, 1)
	require.NoError(t, syscall.Kill(old[0], syscall.SIGKILL))
	_, err := p.Hash("x")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "x\"")
	h, err := p.Hash("y")
	require.NoError(t, err)
	ok, err := cheap.Verify("y", h)
	require.NoError(t, err)
	assert.True(t, ok)
	now := p.PIDs()
	require.Len(t, now, 1)
	assert.NotEqual(t, old[0], now[0])
}

// After Close no child runs and calls fail.
func TestClose(t *testing.T) {
	t.Parallel()
	p := start(t, 2, 0)
	pids := p.PIDs()
	require.Len(t, pids, 2)
	require.NoError(t, p.Close())
	assert.Empty(t, p.PIDs())
	for _, pid := range pids {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "child %d still runs", pid)
	}
	_, err := p.Hash("x")
	assert.Error(t, err)
}

func TestConfigChecked(t *testing.T) {
	t.Parallel()
	_, err := Start(Config{Hasher: cheap, Workers: 0})
	assert.Error(t, err)
	_, err = Start(Config{Hasher: cheap, Workers: 1, Nice: 20})
	assert.Error(t, err)
}
