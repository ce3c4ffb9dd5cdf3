package doccheck

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shellLangs are the code blocks whose lines are commands.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true, "": true}

// Every command the docs show names what exists: the packages of a go
// command (./…, ./x/…, the module's import paths), the tests its -run
// and the benchmarks its -bench select (each alternative of the pattern
// selects at least one), and the scripts bash runs. So a renamed package,
// test or script fails here, not in a reader's terminal. (What the
// commands do when run is tested where they are run: the README's program
// below, the walk and the console command in examples/server.)
func TestDocsCommands(t *testing.T) {
	t.Parallel()
	m, docs := loadDocs(t)
	checked := 0
	for _, d := range docs {
		for _, c := range docCommands(d) {
			checked++
			if err := m.checkCommand(c.Text); err != nil {
				t.Errorf("%s:%d: %s: %v", d.Path, c.Line, c.Text, err)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d commands found in the docs", checked)
	}
}

// docCommands lists the command lines of d: the lines of its shell code
// blocks (continuations joined, comments dropped) and its inline code
// spans that start with "go ".
func docCommands(d *mdDoc) []mdSpan {
	var out []mdSpan
	for _, b := range d.Blocks {
		if !shellLangs[b.Lang] {
			continue
		}
		lines := strings.Split(b.Text, "\n")
		for i := 0; i < len(lines); i++ {
			line, n := lines[i], b.Line+1+i
			for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
				i++
				line = strings.TrimSuffix(line, "\\") + " " + lines[i]
			}
			if line = stripComment(line); strings.TrimSpace(line) != "" {
				out = append(out, mdSpan{n, line})
			}
		}
	}
	for _, s := range d.Spans {
		if strings.HasPrefix(s.Text, "go ") {
			out = append(out, s)
		}
	}
	return out
}

// stripComment drops a shell comment: a # at the start of a word, outside
// quotes.
func stripComment(line string) string {
	var quote rune
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}

// words splits a shell line into commands, and each into its words, with
// quotes removed; $(…) and `…` are kept as they are. Good enough for the
// docs' commands, which a test would otherwise mis-read loudly.
func words(line string) [][]string {
	var cmds [][]string
	var cur []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			cur = append(cur, w.String())
			w.Reset()
			inWord = false
		}
	}
	end := func() {
		flush()
		if len(cur) > 0 {
			cmds = append(cmds, cur)
		}
		cur = nil
	}
	var quote rune
	depth := 0 // inside $( … )
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case depth > 0:
			w.WriteRune(r)
			if r == '(' {
				depth++
			} else if r == ')' {
				depth--
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '(' && strings.HasSuffix(w.String(), "$"):
			w.WriteRune(r)
			depth++
		case r == ' ' || r == '\t':
			flush()
		case r == ';' || r == '|' || r == '&' || r == '(' || r == ')' || r == '{' || r == '}':
			end()
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	end()
	return cmds
}

// valueFlags are the go command flags that take a value.
var valueFlags = map[string]bool{
	"-C": true, "-o": true, "-run": true, "-skip": true, "-bench": true, "-benchtime": true, "-count": true,
	"-timeout": true, "-tags": true, "-p": true, "-cpu": true, "-parallel": true, "-coverprofile": true,
	"-cpuprofile": true, "-memprofile": true, "-exec": true, "-ldflags": true, "-gcflags": true, "-mod": true,
}

// checkCommand checks one command line.
func (m *module) checkCommand(line string) error {
	for _, w := range words(line) {
		for len(w) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(w[0]) {
			w = w[1:] // VAR=value before the command
		}
		if len(w) == 0 {
			continue
		}
		switch {
		case (w[0] == "bash" || w[0] == "sh") && len(w) > 1 && !strings.HasPrefix(w[1], "-"):
			if _, err := os.Stat(filepath.Join(m.Root, filepath.FromSlash(w[1]))); err != nil {
				return fmt.Errorf("no script %s", w[1])
			}
		case w[0] == "go" && len(w) > 1:
			if err := m.checkGo(w[1], w[2:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *module) checkGo(verb string, args []string) error {
	var pkgs []*pkg
	var run, bench []string
	positional := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-args" {
			break
		}
		if strings.HasPrefix(a, "-") {
			name, value, hasValue := strings.Cut(a, "=")
			if valueFlags[name] && !hasValue && i+1 < len(args) {
				i++
				value = args[i]
			}
			switch name {
			case "-run":
				run = append(run, value)
			case "-bench":
				bench = append(bench, value)
			}
			continue
		}
		if verb == "run" && positional > 0 {
			break // the program's own arguments
		}
		positional++
		if strings.Contains(a, "$") {
			continue
		}
		sel, err := m.pattern(a)
		if err != nil {
			return err
		}
		pkgs = append(pkgs, sel...)
	}
	if len(pkgs) == 0 && verb == "test" {
		pkgs = append(pkgs, m.ByDir[""]) // go test in the root
	}
	for _, pat := range run {
		if err := selects(pat, pkgs, "Test", "Example", "Fuzz"); err != nil {
			return fmt.Errorf("-run %s: %w", pat, err)
		}
	}
	for _, pat := range bench {
		if err := selects(pat, pkgs, "Benchmark"); err != nil {
			return fmt.Errorf("-bench %s: %w", pat, err)
		}
	}
	return nil
}

// pattern returns the packages a package pattern selects, run from the
// module root; an error when a pattern of the module selects none.
func (m *module) pattern(a string) ([]*pkg, error) {
	rel, ok := strings.CutPrefix(a, modulePath)
	switch {
	case ok && (rel == "" || rel[0] == '/'):
		rel = "." + rel
	case a == "." || strings.HasPrefix(a, "./"):
		rel = a
	default:
		return nil, nil // not the module's
	}
	rel = path.Clean(rel)
	var out []*pkg
	if dir, ok := strings.CutSuffix(rel, "/..."); ok || rel == "..." {
		if rel == "..." {
			dir = "."
		}
		dir = strings.TrimPrefix(dir, "./")
		for _, p := range m.Pkgs {
			if dir == "." || p.Dir == dir || strings.HasPrefix(p.Dir, dir+"/") {
				out = append(out, p)
			}
		}
	} else if p := m.ByDir[strings.TrimPrefix(strings.TrimPrefix(rel, "."), "/")]; p != nil {
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s selects no package of the module", a)
	}
	return out, nil
}

// selects reports an error unless every alternative of the -run or
// -bench pattern (its top-level | branches, first level of a /-path)
// matches a function with one of the prefixes in pkgs. "^$" selects
// nothing on purpose.
func selects(pat string, pkgs []*pkg, prefixes ...string) error {
	if pat == "^$" {
		return nil
	}
	top, _, _ := strings.Cut(pat, "/")
	for _, alt := range splitAlternatives(top) {
		re, err := regexp.Compile(alt)
		if err != nil {
			return err
		}
		found := false
		for _, p := range pkgs {
			for _, name := range p.Tests {
				for _, prefix := range prefixes {
					if strings.HasPrefix(name, prefix) && re.MatchString(name) {
						found = true
					}
				}
			}
		}
		if !found {
			return fmt.Errorf("%q selects no test", alt)
		}
	}
	return nil
}

// splitAlternatives splits a regexp at its top-level |.
func splitAlternatives(re string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '\\':
			i++
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, re[start:i])
				start = i + 1
			}
		}
	}
	return append(out, re[start:])
}
