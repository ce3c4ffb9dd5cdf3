package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Notice writes line where the person who ran go test sees it, even for a
// package whose tests pass without -v. go test keeps a passing package's
// output to itself in that case (it prints the "ok" line alone), so
// Notice writes to the go command's own standard error when it can: when
// the test binary's parent is the go command and that standard error is
// a terminal, a pipe or a file opened for appending (never a file it could
// overwrite). Otherwise — with -v or -json, when go test streams the
// output, under go test -exec, or off Linux — it writes to the test
// binary's standard error, which go test shows with -v and on failure.
// Call it after flag.Parse (Main does).
func Notice(line string) {
	if !testing.Verbose() {
		if w := goStderr(); w != nil {
			defer w.Close()
			if _, err := fmt.Fprintln(w, line); err == nil {
				return
			}
		}
	}
	fmt.Fprintln(os.Stderr, line)
}
