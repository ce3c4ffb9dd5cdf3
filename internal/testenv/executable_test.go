package testenv_test

import (
	"os/exec"
	"testing"

	"github.com/gousers/users/internal/testenv"
)

// Executable answers a program that runs, and asked again, the same file:
// the go command's cached copy, not linked again.
func TestExecutable(t *testing.T) {
	t.Parallel()
	path, err := testenv.Executable("./testdata/hello", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path).Output()
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("%s: %q, %v; want hello", path, out, err)
	}
	again, err := testenv.Executable("./testdata/hello", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if again != path {
		t.Errorf("asked again: %s; want the same file, %s", again, path)
	}
}
