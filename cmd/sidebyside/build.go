package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// side is one of the two builds being compared.
type side struct {
	name   string // "old" or "new"
	rev    string // what it was built from, as the report names it
	bin    string // directory of its binaries
	env    []string
	extra  []string        // usersbench flags for this side only
	flags  map[string]bool // usersbench's flags: name → takes a value
	server *server         // with -http
}

func (s *side) usersbench() string { return filepath.Join(s.bin, "usersbench") }
func (s *side) serverBin() string  { return filepath.Join(s.bin, "server") }

// moduleRoot is the directory of this checkout's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run sidebyside inside the module's checkout")
	}
	return filepath.Dir(mod), nil
}

// build makes s's binaries in dir/<name>: from a detached worktree of rev,
// or from root itself when rev is empty. The worktree is removed after.
func build(ctx context.Context, root, dir, name, rev string, withServer bool, progress func(string, ...any)) (*side, error) {
	s := &side{name: name, bin: filepath.Join(dir, name)}
	src := root
	if rev != "" {
		full, err := gitOut(ctx, root, "rev-parse", "--short=12", rev+"^{commit}")
		if err != nil {
			return nil, err
		}
		s.rev = full
		src = filepath.Join(dir, name+"-src")
		if _, err := gitOut(ctx, root, "worktree", "add", "--detach", src, full); err != nil {
			return nil, err
		}
		defer func() { _, _ = gitOut(context.WithoutCancel(ctx), root, "worktree", "remove", "--force", src) }()
	} else {
		head, err := gitOut(ctx, root, "rev-parse", "--short=12", "HEAD")
		if err != nil {
			return nil, err
		}
		s.rev = head + " (this checkout)"
		if st, _ := gitOut(ctx, root, "status", "--porcelain", "--untracked-files=no"); st != "" {
			s.rev = head + "+changes (this checkout)"
		}
	}
	pkgs := map[string]string{"usersbench": "./cmd/usersbench"}
	if withServer {
		pkgs["server"] = "./examples/server"
	}
	for out, pkg := range pkgs {
		progress("%s: go build %s (%s)", name, pkg, s.rev)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(s.bin, out), pkg)
		cmd.Dir = src
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s: go build %s: %w\n%s", name, pkg, err, stderr.String())
		}
	}
	return s, nil
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// flagLine matches a flag in the output of flag.PrintDefaults: "  -name"
// for a boolean, "  -name type" for a flag that takes a value.
var flagLine = regexp.MustCompile(`(?m)^ {2}-([A-Za-z0-9][\w.-]*)(?: (\w+))?(?:\s|$)`)

// readFlags asks a usersbench binary for its flags.
func readFlags(ctx context.Context, bin string) (map[string]bool, error) {
	cmd := exec.CommandContext(ctx, bin, "-h")
	out, _ := cmd.CombinedOutput() // -h may exit 0 or 2
	flags := parseFlagUsage(string(out))
	if len(flags) == 0 {
		return nil, fmt.Errorf("%s -h listed no flags:\n%s", bin, out)
	}
	return flags, nil
}

// parseFlagUsage reads flag.PrintDefaults output: flag name → whether it
// takes a value.
func parseFlagUsage(usage string) map[string]bool {
	flags := map[string]bool{}
	for _, m := range flagLine.FindAllStringSubmatch(usage, -1) {
		flags[m[1]] = m[2] != ""
	}
	return flags
}

// flagName is the name of a command-line flag argument ("-c", "--c=8" →
// "c"), or "" for a value.
func flagName(arg string) string {
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return ""
	}
	name := strings.TrimLeft(arg, "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}

// adapt returns args without the flags a usersbench does not know (known:
// its flags) and their values, and the names left out. A flag's value is
// the next argument when the flag takes one (as known or other, the other
// side's flags, say) and has no "=".
func adapt(args []string, known, other map[string]bool) (kept, dropped []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := flagName(a)
		if name == "" {
			kept = append(kept, a)
			continue
		}
		takesValue, ok := known[name]
		if !ok {
			takesValue = other[name]
		}
		hasValue := takesValue && !strings.Contains(a, "=") && i+1 < len(args)
		if ok {
			kept = append(kept, a)
			if hasValue {
				i++
				kept = append(kept, args[i])
			}
			continue
		}
		dropped = append(dropped, "-"+name)
		if hasValue {
			i++
		}
	}
	return kept, dropped
}
