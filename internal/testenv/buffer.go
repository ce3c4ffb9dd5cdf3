package testenv

import (
	"bytes"
	"sync"
)

// A Buffer is a bytes.Buffer safe for concurrent writes: the sink of a
// logger that the code under test writes to from several goroutines, read
// by the test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
