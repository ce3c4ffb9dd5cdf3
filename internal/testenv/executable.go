package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Executable returns the path of the executable of the main package pkg
// (an import path, or a directory such as "."), built as go run builds
// it: the go command keeps such an executable in its build cache and
// finds it there, already linked, as long as nothing it is built from
// changed, where go build -o links it again every time (seconds for a
// program with cgo). The file is the cache's: run it, never change it.
// When the go command keeps no copy, the executable is built into dir.
//
// go run -exec echo prints the executable's path instead of running it.
// Right after a build that path is in the go command's temporary
// directory, gone once go run ends; asked again, go run answers the
// cache's copy.
func Executable(pkg, dir string) (string, error) {
	for range 2 {
		cmd := exec.Command("go", "run", "-exec", "echo", pkg)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go run -exec echo %s: %v\n%s", pkg, err, stderr.String())
		}
		path := strings.TrimSpace(string(out))
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	path := filepath.Join(dir, "program")
	if out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -o %s %s: %v\n%s", path, pkg, err, out)
	}
	return path, nil
}
