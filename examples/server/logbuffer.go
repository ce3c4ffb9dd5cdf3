package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logFlushDelay is the longest a log line waits in a logBuffer.
const logFlushDelay = 100 * time.Millisecond

// maxLogBuffer is how many bytes a logBuffer collects before it writes
// them at once.
const maxLogBuffer = 32 << 10

// A logBuffer collects the server's log lines and writes them to out in
// batches: logFlushDelay after the first line of a batch, at once when
// maxLogBuffer bytes wait, and on Flush. With one write(2) per line, the
// access log (a line per request) cost each cheap request a system call
// of its own. Lines keep their order; a line of level WARN or above is
// written at once with those before it (see flushAt), so only INFO and
// DEBUG lines can wait, and they are lost only if the process dies
// without returning from realMain (which flushes).
type logBuffer struct {
	mu      sync.Mutex
	out     io.Writer
	buf     []byte
	timer   *time.Timer
	pending bool // timer armed
}

func newLogBuffer(out io.Writer) *logBuffer { return &logBuffer{out: out} }

// Write keeps a copy of p for the next batch; it never fails (a failure
// to write the batch is out's to report, as it would be for the line).
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	switch {
	case len(b.buf) >= maxLogBuffer:
		b.flushLocked()
	case !b.pending:
		b.pending = true
		if b.timer == nil {
			b.timer = time.AfterFunc(logFlushDelay, b.Flush)
		} else {
			b.timer.Reset(logFlushDelay)
		}
	}
	return len(p), nil
}

// Flush writes every line collected so far.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *logBuffer) flushLocked() {
	if b.pending {
		b.timer.Stop()
		b.pending = false
	}
	if len(b.buf) == 0 {
		return
	}
	_, _ = b.out.Write(b.buf)
	if cap(b.buf) > 4*maxLogBuffer {
		b.buf = nil // a burst of long lines: do not keep its memory
	} else {
		b.buf = b.buf[:0]
	}
}

// flushAt returns h, which writes to b, flushing b after each record of
// level or above, so that warnings and errors are written at once.
func flushAt(h slog.Handler, b *logBuffer, level slog.Level) slog.Handler {
	return flushingHandler{Handler: h, b: b, level: level}
}

type flushingHandler struct {
	slog.Handler
	b     *logBuffer
	level slog.Level
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level {
		h.b.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithAttrs(attrs), b: h.b, level: h.level}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithGroup(name), b: h.b, level: h.level}
}
