package testenv_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gousers/users/internal/testenv"
)

func TestClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := testenv.NewClock(at)
	if got := c.Now(); !got.Equal(at) {
		t.Fatalf("Now = %v, want %v", got, at)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Advance(time.Minute) })
	}
	wg.Wait()
	if got, want := c.Now(), at.Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("after 10 concurrent Advance(1m): %v, want %v", got, want)
	}
}

func TestBuffer(t *testing.T) {
	t.Parallel()
	var b testenv.Buffer
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { _, _ = b.Write([]byte("ab")) })
	}
	wg.Wait()
	if got := b.String(); got != "abababababababababab" {
		t.Errorf("String = %q after 10 concurrent writes of ab", got)
	}
}
