//go:build !linux

package testenv

import "os"

// goStderr: off Linux the go command's standard error is not reachable;
// Notice writes to the test binary's own.
func goStderr() *os.File { return nil }
