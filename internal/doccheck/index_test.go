package doccheck

import (
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// modulePath is the module's import path, as go.mod names it.
const modulePath = "github.com/gousers/users"

// A pkg is one package of the module, read from its source with go/parser
// (no build, no go/packages): what the docs may name in it.
type pkg struct {
	Dir  string // relative to the module root, slash-separated; "" for the root
	Path string // import path
	Name string // package name (of its non-test files)

	// Syms holds the exported top-level names ("Manager"), the exported
	// methods, fields and interface methods of its types ("Manager.Login",
	// "Settings.PublicRegistration"), promoted ones included.
	Syms map[string]bool
	// Headings holds the headings of the package doc ("Sessions").
	Headings map[string]bool
	// Tests holds the names of its Test, Benchmark, Example and Fuzz
	// functions, in either test package.
	Tests []string
	// Files are its non-test .go files, by base name.
	Files []string
	// files are its parsed non-test files, for the doc-link check.
	files []*ast.File
	fset  *token.FileSet
}

// Main reports whether p is a command.
func (p *pkg) Main() bool { return p.Name == "main" }

// Internal reports whether p is importable only from inside the module.
func (p *pkg) Internal() bool {
	return p.Dir == "internal" || strings.HasPrefix(p.Dir, "internal/") ||
		strings.Contains("/"+p.Dir+"/", "/internal/")
}

// Importable reports whether an application or a store author outside
// the module may import p.
func (p *pkg) Importable() bool { return !p.Main() && !p.Internal() }

// Has reports whether sym ("Name" or "Type.Member") is an exported name
// of p, or a heading of its package doc ("hdr-…" anchors aside).
func (p *pkg) Has(sym string) bool { return p.Syms[strings.TrimPrefix(sym, "*")] }

// module is the parsed module.
type module struct {
	Root   string
	Pkgs   []*pkg          // sorted by Dir
	ByDir  map[string]*pkg // by Dir
	ByPath map[string]*pkg // by import path
	ByName map[string][]*pkg
}

var (
	loadOnce sync.Once
	loaded   *module
	loadErr  error
)

// loadModule parses every package of the module once per test binary.
func loadModule(t *testing.T) *module {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = parseModule() })
	require.NoError(t, loadErr)
	return loaded
}

func moduleRoot() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	if !strings.Contains(string(b), "module "+modulePath+"\n") {
		return "", os.ErrNotExist
	}
	return root, nil
}

func parseModule() (*module, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	m := &module{Root: root, ByDir: map[string]*pkg{}, ByPath: map[string]*pkg{}, ByName: map[string][]*pkg{}}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if p != root && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if p != root {
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		pk, err := parseDir(p, rel)
		if err != nil || pk == nil {
			return err
		}
		m.Pkgs = append(m.Pkgs, pk)
		m.ByDir[rel] = pk
		m.ByPath[pk.Path] = pk
		m.ByName[pk.Name] = append(m.ByName[pk.Name], pk)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(m.Pkgs, func(i, j int) bool { return m.Pkgs[i].Dir < m.Pkgs[j].Dir })
	return m, nil
}

// parseDir reads the package in dir, or returns nil when dir has no
// non-test Go file.
func parseDir(dir, rel string) (*pkg, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	p := &pkg{Dir: rel, Path: path.Join(modulePath, rel), Syms: map[string]bool{}, Headings: map[string]bool{}, fset: fset}
	// embeds[T] are the types T embeds, for promoted members.
	embeds := map[string][]string{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(n, "_test.go") {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
					for _, prefix := range []string{"Test", "Benchmark", "Example", "Fuzz"} {
						if strings.HasPrefix(fd.Name.Name, prefix) {
							p.Tests = append(p.Tests, fd.Name.Name)
							break
						}
					}
				}
			}
			continue
		}
		p.Name = f.Name.Name
		p.Files = append(p.Files, n)
		p.files = append(p.files, f)
		if f.Doc != nil {
			for _, b := range new(comment.Parser).Parse(f.Doc.Text()).Content {
				if h, ok := b.(*comment.Heading); ok {
					p.Headings[plainText(h.Text)] = true
				}
			}
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					addExported(p.Syms, "", d.Name.Name)
				} else if len(d.Recv.List) == 1 {
					addExported(p.Syms, recvName(d.Recv.List[0].Type), d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							addExported(p.Syms, "", n.Name)
						}
					case *ast.TypeSpec:
						tn := s.Name.Name
						addExported(p.Syms, "", tn)
						switch t := s.Type.(type) {
						case *ast.StructType:
							for _, fl := range t.Fields.List {
								if len(fl.Names) == 0 {
									en := recvName(fl.Type)
									addExported(p.Syms, tn, en)
									embeds[tn] = append(embeds[tn], en)
								}
								for _, n := range fl.Names {
									addExported(p.Syms, tn, n.Name)
								}
							}
						case *ast.InterfaceType:
							for _, fl := range t.Methods.List {
								if len(fl.Names) == 0 {
									embeds[tn] = append(embeds[tn], recvName(fl.Type))
								}
								for _, n := range fl.Names {
									addExported(p.Syms, tn, n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	if p.Name == "" {
		return nil, nil
	}
	// Promote the members of embedded types of this package, to a fixed point.
	for changed := true; changed; {
		changed = false
		for t, es := range embeds {
			for _, e := range es {
				for s := range p.Syms {
					if member, ok := strings.CutPrefix(s, e+"."); ok && !p.Syms[t+"."+member] {
						p.Syms[t+"."+member] = true
						changed = true
					}
				}
			}
		}
	}
	sort.Strings(p.Files)
	return p, nil
}

func addExported(syms map[string]bool, recv, name string) {
	if !ast.IsExported(name) || (recv != "" && !ast.IsExported(recv)) {
		return
	}
	if recv != "" {
		name = recv + "." + name
	}
	syms[name] = true
}

// recvName is the type name of a receiver or an embedded field: T for T,
// *T, T[P] and pkg.T.
func recvName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.SelectorExpr:
			return x.Sel.Name
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// plainText flattens a doc comment's inline text.
func plainText(ts []comment.Text) string {
	var b strings.Builder
	for _, t := range ts {
		switch t := t.(type) {
		case comment.Plain:
			b.WriteString(string(t))
		case comment.Italic:
			b.WriteString(string(t))
		case *comment.Link:
			b.WriteString(plainText(t.Text))
		case *comment.DocLink:
			b.WriteString(plainText(t.Text))
		}
	}
	return b.String()
}

// headingAnchor is the anchor pkg.go.dev gives a package-doc heading
// (go/doc/comment's Heading.DefaultID).
func headingAnchor(text string) string {
	var b strings.Builder
	b.WriteString("hdr-")
	for _, r := range strings.TrimSpace(text) {
		if r < 0x80 && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// resolve reports whether ref — "Name", "Type.Member", "pkgname.Name" or
// "pkgname.Type.Member" — names something that exists. Unqualified
// names are looked up in in (a heading of its package doc counts too).
// known reports whether ref's qualifier was a package of the module; a
// reference into another module or the standard library is not checked.
func (m *module) resolve(in *pkg, ref string) (ok, known bool) {
	ref = strings.TrimLeft(ref, "*&")
	parts := strings.Split(ref, ".")
	if len(parts) >= 2 && !ast.IsExported(parts[0]) {
		cands := m.ByName[parts[0]]
		if len(cands) == 0 {
			return false, false
		}
		sym := strings.Join(parts[1:], ".")
		for _, c := range cands {
			if !c.Main() && c.Has(sym) {
				return true, true
			}
		}
		return false, true
	}
	if in == nil {
		return false, false
	}
	if in.Has(ref) || in.Headings[ref] {
		return true, true
	}
	if len(parts) == 1 {
		// A method named without its type ("see HashBusy" in the
		// Manager's package), or a test of the package.
		for s := range in.Syms {
			if strings.HasSuffix(s, "."+ref) {
				return true, true
			}
		}
		for _, t := range in.Tests {
			if t == ref {
				return true, true
			}
		}
	}
	return false, true
}
