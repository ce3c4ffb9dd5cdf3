package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
)

// TestLogBuffer: INFO lines wait for the batch (Flush, a full buffer, or
// the delay), in order; a WARN line is written at once with every line
// before it.
func TestLogBuffer(t *testing.T) {
	t.Parallel()
	var out testenv.Buffer
	b := newLogBuffer(&out)
	log := slog.New(flushAt(slog.NewTextHandler(b, nil), b, slog.LevelWarn))

	log.Info("one")
	log.Info("two")
	b.mu.Lock()
	waiting := len(b.buf)
	b.mu.Unlock()
	if out.String() == "" { // else the delay passed already on a slow machine
		assert.Positive(t, waiting, "INFO lines wait in the buffer")
	}
	log.Warn("three")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3, "a warning is written at once, after the lines before it")
	for i, msg := range []string{"msg=one", "msg=two", "level=WARN msg=three"} {
		assert.Contains(t, lines[i], msg)
	}

	log.Info("four")
	b.Flush()
	assert.Contains(t, out.String(), "msg=four", "Flush writes what waits")

	log.Info("five")
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "msg=five") }, time.Minute, 10*time.Millisecond,
		"a waiting line is written after the delay, without Flush")

	// A batch is written at once when it reaches maxLogBuffer.
	long := strings.Repeat("x", maxLogBuffer)
	log.Info(long)
	assert.Contains(t, out.String(), long)
}
