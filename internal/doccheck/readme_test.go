package doccheck

import (
	"bytes"
	"context"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README is a front page, not a manual: at most 150 lines, with a
// complete program of at most 40.
func TestREADMELength(t *testing.T) {
	t.Parallel()
	m := loadModule(t)
	d, err := readDoc(m.Root, "README.md")
	require.NoError(t, err)
	assert.LessOrEqual(t, len(strings.Split(strings.TrimSuffix(strings.Join(d.Lines, "\n"), "\n"), "\n")), 150, "README.md lines")
	prog := readmeProgram(t, d)
	assert.LessOrEqual(t, strings.Count(prog.Text, "\n"), 40, "the README's program, in lines")
}

// readmeProgram is the README's first Go block.
func readmeProgram(t *testing.T, d *mdDoc) mdBlock {
	t.Helper()
	for _, b := range d.Blocks {
		if b.Lang == "go" {
			return b
		}
	}
	t.Fatal("README.md has no Go block")
	return mdBlock{}
}

// The README's program compiles as pasted and does what the README says
// it does. It is copied into a module of its own in a temporary
// directory, which requires this module (replaced by the working tree)
// as a user's program would, and run there with
// go run; its output must hold the mail and the lines the README quotes
// after the program ("…" ending a quote stands for the rest of the line).
func TestREADMEProgram(t *testing.T) {
	t.Parallel()
	m := loadModule(t)
	d, err := readDoc(m.Root, "README.md")
	require.NoError(t, err)
	prog := readmeProgram(t, d)
	src := []byte(prog.Text)
	require.Contains(t, prog.Text, "package main\n", "a complete program")
	require.Contains(t, prog.Text, "\nfunc main() {\n", "a complete program")
	formatted, err := format.Source(src)
	require.NoError(t, err)
	assert.Equal(t, string(formatted), string(src), "the README's program is gofmt'ed")

	goMod, err := os.ReadFile(filepath.Join(m.Root, "go.mod"))
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
	require.NotNil(t, goVersion)
	dir := t.TempDir()
	write := func(name string, b []byte) { require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644)) }
	write("main.go", src)
	write("go.mod", []byte("module readmeprogram\n\ngo "+string(goVersion[1])+"\n\n"+
		"require "+modulePath+" v0.0.0\n\nreplace "+modulePath+" => "+m.Root+"\n"))
	sum, err := os.ReadFile(filepath.Join(m.Root, "go.sum"))
	require.NoError(t, err)
	write("go.sum", sum)

	// The first build compiles SQLite's C code: minutes on a slow machine.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", ".")
	cmd.Dir = dir
	// The module cache may lack a go.mod that only a full module graph
	// needs (one of a dependency's own requirements): go fetches it the
	// way it would for a user, through GOPROXY as the environment sets it.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "go run of the README's program:\n%s", stderr.String())
	out := stdout.String()

	assert.Contains(t, out, "To: ada@example.com\n", "the verification mail is printed")
	assert.Regexp(t, `http://localhost:8080/users/register/verify-email\?token=[A-Za-z0-9_-]{43}\n`, out)
	assert.FileExists(t, filepath.Join(dir, "app.db"), "the program's SQLite file, where it runs")

	// What the README says the program prints.
	quotes := 0
	for _, q := range afterBlock(d, prog) {
		quotes++
		if prefix, ok := strings.CutSuffix(q, "…"); ok {
			assert.Contains(t, out, prefix, "the README quotes %q", q)
		} else {
			assert.Contains(t, out, q+"\n", "the README quotes %q as a line", q)
		}
	}
	assert.GreaterOrEqual(t, quotes, 2, "the README says what the program prints")
}

// afterBlock returns the inline code spans of the paragraph that follows
// block b in d.
func afterBlock(d *mdDoc, b mdBlock) []string {
	end := b.Line + strings.Count(b.Text, "\n") + 1 // the closing fence
	var out []string
	started := false
	for _, p := range d.Prose {
		if p.Line <= end {
			continue
		}
		if strings.TrimSpace(p.Text) == "" {
			if started {
				break
			}
			continue
		}
		started = true
		for _, s := range d.Spans {
			if s.Line == p.Line {
				out = append(out, s.Text)
			}
		}
	}
	return out
}
