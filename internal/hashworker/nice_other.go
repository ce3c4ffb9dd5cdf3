//go:build !linux

package hashworker

import (
	"errors"
	"runtime"
)

// lowerPriority is supported on Linux only, where a child's every thread
// can be lowered.
func lowerPriority(n int) error {
	if n == 0 {
		return nil
	}
	return errors.New("not supported on " + runtime.GOOS)
}
