package testenv

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// goStderr opens the standard error of the go command that runs this test
// binary, or returns nil when the parent is not the go command, when the
// binary's own standard error or output reaches the same file (go test
// streams its output: nothing to add), or when writing there could
// overwrite what the go command writes (a file not opened for appending).
func goStderr() *os.File {
	ppid := os.Getppid()
	proc := "/proc/" + strconv.Itoa(ppid)
	comm, err := os.ReadFile(proc + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return nil
	}
	target := proc + "/fd/2"
	var theirs syscall.Stat_t
	if syscall.Stat(target, &theirs) != nil {
		return nil
	}
	for _, f := range []*os.File{os.Stdout, os.Stderr} {
		var ours syscall.Stat_t
		if syscall.Fstat(int(f.Fd()), &ours) == nil && ours.Dev == theirs.Dev && ours.Ino == theirs.Ino {
			return nil
		}
	}
	if theirs.Mode&syscall.S_IFMT == syscall.S_IFREG && !appending(proc+"/fdinfo/2") {
		return nil
	}
	w, err := os.OpenFile(target, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil
	}
	return w
}

// appending reports whether the fdinfo file at path shows O_APPEND.
func appending(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "flags:"); ok {
			var flags int
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%o", &flags); err != nil {
				return false
			}
			return flags&syscall.O_APPEND != 0
		}
	}
	return false
}
