package testenv_test

import (
	"flag"
	"runtime"
	"strconv"
	"testing"

	"github.com/gousers/users/internal/testenv"
)

// Parallel raises -test.parallel unless the command line gave it. (Not
// parallel: it sets the flag, which the tests read when they start.)
func TestParallel(t *testing.T) {
	f := flag.Lookup("test.parallel")
	if f == nil {
		t.Fatal("no test.parallel flag")
	}
	before := f.Value.String()
	t.Cleanup(func() { _ = f.Value.Set(before) })
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	n, err := strconv.Atoi(before)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Parallel(n + 5)
	want := strconv.Itoa(max(n+5, runtime.GOMAXPROCS(0)))
	if given {
		want = before
	}
	if got := f.Value.String(); got != want {
		t.Errorf("-test.parallel %s after Parallel(%d) (given on the command line: %v); want %s", got, n+5, given, want)
	}
}
