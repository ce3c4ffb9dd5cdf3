package testkit_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
)

// Every index runs once, on its own goroutine, and Start returns after
// all of them.
func TestStart(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []int
	)
	testkit.Start(50, func(i int) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, i)
	})
	slices.Sort(seen)
	want := make([]int, 50)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, seen)
}

// recorder is a testing.TB that keeps what Errorf says.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestWins(t *testing.T) {
	t.Parallel()
	r := &recorder{TB: t}
	errs := []error{nil, store.ErrTokenUsed, fmt.Errorf("wrapped: %w", store.ErrInvalidToken), nil}
	assert.Equal(t, 2, testkit.Wins(r, "consume", errs, store.ErrTokenUsed, store.ErrInvalidToken))
	assert.Empty(t, r.errs, "every loser matched one of the errors a loser may return")

	boom := errors.New("boom")
	assert.Equal(t, 1, testkit.Wins(r, "consume", []error{boom, nil, store.ErrInvalidToken}, store.ErrTokenUsed))
	assert.Equal(t, []string{
		`consume: call 0: boom; want nil or an error matching "store: token already used"`,
		`consume: call 2: store: invalid token; want nil or an error matching "store: token already used"`,
	}, r.errs)
}
