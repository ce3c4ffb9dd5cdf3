package doccheck

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadDocs parses the module and every doc file.
func loadDocs(t *testing.T) (*module, []*mdDoc) {
	t.Helper()
	m := loadModule(t)
	files, err := docFiles(m.Root)
	require.NoError(t, err)
	var docs []*mdDoc
	for _, f := range files {
		d, err := readDoc(m.Root, f)
		require.NoError(t, err, "%s: the docs link to it", f)
		docs = append(docs, d)
	}
	return m, docs
}

const godocPrefix = "https://pkg.go.dev/"

// Every link of the docs leads somewhere: a file or directory of the
// repository (and, for a Markdown file, a heading of it), a heading of
// the same page, or the package documentation of a package, identifier
// or heading that exists. Links to other sites are not fetched.
func TestDocsLinks(t *testing.T) {
	t.Parallel()
	m, docs := loadDocs(t)
	for _, d := range docs {
		for _, l := range d.Links {
			if err := m.checkLink(d, l); err != nil {
				t.Errorf("%s:%d: [%s](%s): %v", d.Path, l.Line, l.Text, l.Target, err)
			}
		}
	}
}

// checkLink reports what is wrong with link l of doc d, or nil.
func (m *module) checkLink(d *mdDoc, l mdLink) error {
	target := l.Target
	switch {
	case strings.HasPrefix(target, godocPrefix):
		return m.checkGodocLink(l.Text, strings.TrimPrefix(target, godocPrefix))
	case strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:"):
		return nil
	case target == "":
		return fmt.Errorf("empty target")
	}
	file, frag, _ := strings.Cut(target, "#")
	doc := d
	if file != "" {
		rel := path.Join(path.Dir(d.Path), file)
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("leads out of the repository")
		}
		if _, err := os.Stat(filepath.Join(m.Root, filepath.FromSlash(rel))); err != nil {
			return fmt.Errorf("no such file or directory: %s", rel)
		}
		if frag == "" || !strings.HasSuffix(rel, ".md") {
			return nil
		}
		var err error
		if doc, err = readDoc(m.Root, rel); err != nil {
			return err
		}
	}
	if !doc.Anchors[frag] {
		return fmt.Errorf("%s has no heading with the anchor #%s", doc.Path, frag)
	}
	return nil
}

// identRE matches what a link's text names when it names an identifier:
// Name, Type.Member, pkg.Name or pkg.Type.Member.
var identRE = regexp.MustCompile(`^\*?(?:([a-z][a-z0-9]*)\.)?([A-Z][A-Za-z0-9_]*(?:\.[A-Z][A-Za-z0-9_]*)?)$`)

// checkGodocLink checks a pkg.go.dev link (its URL without the prefix)
// into the module: the package exists, and so does the identifier or
// package-doc heading its fragment names, which the link's text, when it
// is an identifier, names too.
func (m *module) checkGodocLink(text, rest string) error {
	ip, frag, _ := strings.Cut(rest, "#")
	if ip != modulePath && !strings.HasPrefix(ip, modulePath+"/") {
		return nil // the standard library or another module
	}
	p := m.ByPath[ip]
	if p == nil {
		return fmt.Errorf("no package %s in the module", ip)
	}
	switch {
	case frag == "":
		return nil
	case strings.HasPrefix(frag, "hdr-"):
		for h := range p.Headings {
			if headingAnchor(h) == frag {
				return nil
			}
		}
		return fmt.Errorf("the documentation of %s has no heading #%s", p.Path, frag)
	case !p.Has(frag):
		return fmt.Errorf("%s has no identifier %s", p.Path, frag)
	}
	if sm := identRE.FindStringSubmatch(text); sm != nil && (sm[1] == "" || sm[1] == p.Name) && sm[2] != frag {
		return fmt.Errorf("the text names %s, the link %s", sm[2], frag)
	}
	return nil
}

var (
	// qualifiedRE finds pkg.Name and pkg.Type.Member in code.
	qualifiedRE = regexp.MustCompile(`(?:^|[^\w.])(\*?[a-z][a-z0-9]*\.[A-Z]\w*(?:\.[A-Z]\w*)?)`)
	// managerCallRE finds m.Method( — the docs' name for a *users.Manager.
	managerCallRE = regexp.MustCompile(`(?:^|[^\w.])m\.([A-Z]\w*)\(`)
)

// Every identifier the docs name in code — `users.WithSecret`,
// `pgstore.NewLimiter(…)`, m.Register( in a Go block — and every "see X"
// of their prose names something that exists in the module.
// Identifiers of other modules and of the standard library are not
// checked.
func TestDocsIdentifiers(t *testing.T) {
	t.Parallel()
	m, docs := loadDocs(t)
	for _, d := range docs {
		if d.Path == "CHANGELOG.md" {
			// The changelog names what was removed or renamed: its old
			// names exist no more, by design. Its links are checked.
			continue
		}
		for _, p := range m.docProblems(d) {
			t.Error(p)
		}
	}
}

// docProblems lists the identifiers doc d names that do not exist.
func (m *module) docProblems(d *mdDoc) []string {
	root := m.ByDir[""]
	var out []string
	code := func(line int, text string) {
		for _, sm := range qualifiedRE.FindAllStringSubmatch(text, -1) {
			if ok, known := m.resolve(nil, sm[1]); known && !ok {
				out = append(out, fmt.Sprintf("%s:%d: %s names nothing in the module", d.Path, line, sm[1]))
			}
		}
		for _, sm := range managerCallRE.FindAllStringSubmatch(text, -1) {
			if !root.Has("Manager." + sm[1]) {
				out = append(out, fmt.Sprintf("%s:%d: m.%s: the Manager has no method %s", d.Path, line, sm[1], sm[1]))
			}
		}
	}
	for _, s := range d.Spans {
		code(s.Line, s.Text)
	}
	for _, b := range d.Blocks {
		if b.Lang == "go" {
			for i, l := range strings.Split(b.Text, "\n") {
				code(b.Line+1+i, l)
			}
		}
	}
	for _, p := range d.Prose {
		for _, sm := range seeRE.FindAllStringSubmatch(p.Text, -1) {
			if ref := seeRef(sm[1]); ref != "" {
				if ok, known := m.resolve(root, ref); known && !ok {
					out = append(out, fmt.Sprintf("%s:%d: %q names nothing in the module", d.Path, p.Line, sm[0]))
				}
			}
		}
	}
	return out
}

// A table whose first column is "package" lists every package of the
// module that a program outside it may import (all but commands and
// internal packages), and nothing else; one whose first column is
// "command" lists every command. A row names its package by the first
// code span of its first cell: users/… for packages (users alone for
// the root), the directory for commands; a link in that cell leads to the
// same package.
func TestDocsPackageTables(t *testing.T) {
	t.Parallel()
	m, docs := loadDocs(t)
	var importable, commands []string
	for _, p := range m.Pkgs {
		switch {
		case p.Main():
			commands = append(commands, p.Dir)
		case p.Importable():
			importable = append(importable, p.Dir)
		}
	}
	found := map[string]bool{}
	for _, d := range docs {
		for _, tb := range d.Tables {
			kind := strings.ToLower(tb.Header[0])
			if kind != "package" && kind != "command" {
				continue
			}
			found[kind] = true
			var listed []string
			for _, row := range tb.Rows {
				name := codeRE.FindStringSubmatch(row[0])
				if !assert.NotNil(t, name, "%s:%d: a row without a code span: %q", d.Path, tb.Line, row[0]) {
					continue
				}
				dir := name[1]
				if kind == "package" {
					rest, ok := strings.CutPrefix(dir, "users")
					if !assert.True(t, ok && (rest == "" || rest[0] == '/'), "%s: %q: a package is written users/…", d.Path, dir) {
						continue
					}
					dir = strings.TrimPrefix(rest, "/")
				}
				listed = append(listed, dir)
				if lk := linkRE.FindStringSubmatch(row[0]); lk != nil && strings.HasPrefix(lk[3], godocPrefix) {
					assert.Equal(t, path.Join(modulePath, dir), strings.TrimPrefix(lk[3], godocPrefix), "%s: the row of %s links elsewhere", d.Path, name[1])
				}
			}
			want := importable
			if kind == "command" {
				want = commands
			}
			sort.Strings(listed)
			assert.Equal(t, want, listed, "%s:%d: the %s table lists every %s of the module, and only those", d.Path, tb.Line, kind, kind)
		}
	}
	assert.True(t, found["package"] && found["command"], "the README has a package table and a command table")
}

// A table whose first column is "file" names files that exist, by their
// path from the module root, and, for each directory it names a file of,
// every non-test Go file of that directory.
func TestDocsFileTables(t *testing.T) {
	t.Parallel()
	m, docs := loadDocs(t)
	for _, d := range docs {
		for _, tb := range d.Tables {
			if strings.ToLower(tb.Header[0]) != "file" {
				continue
			}
			listed := map[string][]string{}
			for _, row := range tb.Rows {
				for _, c := range codeRE.FindAllStringSubmatch(row[0], -1) {
					f := c[1]
					assert.FileExists(t, filepath.Join(m.Root, filepath.FromSlash(f)), "%s:%d", d.Path, tb.Line)
					listed[path.Dir(f)] = append(listed[path.Dir(f)], path.Base(f))
				}
			}
			for dir, files := range listed {
				p := m.ByDir[dir]
				if !assert.NotNil(t, p, "%s:%d: %s is no package", d.Path, tb.Line, dir) {
					continue
				}
				for _, f := range p.Files {
					assert.True(t, slices.Contains(files, f), "%s:%d: the table of %s misses %s", d.Path, tb.Line, dir, f)
				}
			}
		}
	}
}
