package testenv

import (
	"flag"
	"runtime"
	"strconv"
)

// Parallel lets the package's parallel tests run n at a time (or
// GOMAXPROCS at a time, if more) unless go test was given -parallel. By
// default go test runs GOMAXPROCS of them at once: on a machine with two
// cores, two. That suits tests that compute; tests that mostly wait — on a
// browser, on a process or a build they start, on a database — leave the
// machine idle at two. Call it from TestMain, before m.Run (or Main).
func Parallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", strconv.Itoa(max(n, runtime.GOMAXPROCS(0))))
	}
}
