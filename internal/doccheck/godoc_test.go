package doccheck

import (
	"fmt"
	"go/ast"
	"go/doc/comment"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// seeRE finds "see X" references in prose: X a qualified name
// (users.Manager.Login, Manager.Login) or a name with an inner capital
// (ParseFilter, WithSecret). A plain word ("see Sessions", "see
// Directus") could be a heading or a proper noun, so it is not taken.
var seeRE = regexp.MustCompile(`\b[Ss]ee (?:also )?[\[` + "`" + `]?(\*?(?:[a-z][a-z0-9]*\.)?[A-Z][A-Za-z0-9_]*(?:\.[A-Z][A-Za-z0-9_]*)*)`)

// seeRef reports the identifier a "see" match names, or "" when the
// match is not one this check takes.
func seeRef(s string) string {
	s = strings.TrimLeft(s, "*")
	last := s[strings.LastIndex(s, ".")+1:]
	if strings.Contains(s, ".") {
		return s
	}
	for _, r := range last[1:] {
		if r >= 'A' && r <= 'Z' {
			return s
		}
	}
	return ""
}

// Every doc link ([Name], [Type.Method], [pkg.Name]) and every "see X" in
// the module's doc comments names something that exists. A doc link to a
// missing name is rendered as plain bracketed text by go doc and
// pkg.go.dev, so a rename leaves it behind unnoticed; this test notices.
func TestGodocLinks(t *testing.T) {
	t.Parallel()
	m := loadModule(t)
	checked := 0
	for _, p := range m.Pkgs {
		for _, f := range p.files {
			imports := map[string]string{}
			for _, im := range f.Imports {
				ip, _ := strconv.Unquote(im.Path.Value)
				name := path.Base(ip)
				if im.Name != nil {
					name = im.Name.Name
				}
				imports[name] = ip
			}
			check := func(g *ast.CommentGroup) {
				if g == nil {
					return
				}
				checked++
				ps := p.fset.Position(g.Pos())
				where := path.Join(p.Dir, path.Base(ps.Filename)) + ":" + strconv.Itoa(ps.Line)
				for _, problem := range m.commentProblems(p, imports, g.Text()) {
					t.Errorf("%s: %s", where, problem)
				}
			}
			check(f.Doc)
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					check(n.Doc)
					return false // comments inside bodies are not documentation
				case *ast.GenDecl:
					check(n.Doc)
				case *ast.TypeSpec:
					check(n.Doc)
					check(n.Comment)
				case *ast.ValueSpec:
					check(n.Doc)
					check(n.Comment)
				case *ast.Field:
					check(n.Doc)
					check(n.Comment)
				}
				return true
			})
		}
	}
	assert.Greater(t, checked, 500, "the module's doc comments were not found")
}

// The check itself finds what it is for: a doc link or a "see" to a
// missing name, in the package or in another package of the module.
func TestGodocLinksCheck(t *testing.T) {
	t.Parallel()
	m := loadModule(t)
	root := m.ByDir[""]
	imports := map[string]string{"httpapi": modulePath + "/httpapi"}
	assert.Empty(t, m.commentProblems(root, imports,
		"[Manager], [Manager.Login], [*ValidationError], [httpapi.New], [net/http.Handler] and [email] exist;\n"+
			"see DefaultSettings, see Manager.Login, see VerifyEmail, see users.Manager.Register, see Sessions.\n"))
	for _, bad := range []string{
		"[Manager.Nope]", "[NoSuchThing]", "[httpapi.Nope]", "[github.com/gousers/users/nopkg.X]",
		"see ParseRegisterJSON for the wire form", "see Manager.Nope", "see users.NoSuchThing", "see httpapi.Nope",
	} {
		assert.Len(t, m.commentProblems(root, imports, "Text with "+bad+" in it.\n"), 1, "%s", bad)
	}
}

// commentProblems lists the doc links and "see" references of the doc
// comment text, written in package p of a file with these imports (name
// to import path), that name nothing.
func (m *module) commentProblems(p *pkg, imports map[string]string, text string) []string {
	parser := &comment.Parser{
		LookupPackage: func(name string) (string, bool) {
			if ip, ok := imports[name]; ok {
				return ip, true
			}
			if c := m.ByName[name]; len(c) == 1 && !c[0].Main() {
				return c[0].Path, true
			}
			return comment.DefaultLookupPackage(name)
		},
		LookupSym: func(recv, name string) bool { return true },
	}
	var problems []string
	for _, l := range docLinks(parser.Parse(text)) {
		if !ast.IsExported(l.Name) || (l.Recv != "" && !ast.IsExported(l.Recv)) {
			continue
		}
		sym := l.Name
		if l.Recv != "" {
			sym = l.Recv + "." + l.Name
		}
		target := p
		if l.ImportPath != "" {
			if target = m.ByPath[l.ImportPath]; target == nil {
				if strings.HasPrefix(l.ImportPath, modulePath+"/") || l.ImportPath == modulePath {
					problems = append(problems, fmt.Sprintf("doc link [%s] names package %s, which does not exist", sym, l.ImportPath))
				}
				continue
			}
		}
		if !target.Has(sym) {
			problems = append(problems, fmt.Sprintf("doc link [%s] names nothing in package %s", sym, target.Path))
		}
	}
	for _, sm := range seeRE.FindAllStringSubmatch(strings.ReplaceAll(text, "\n", " "), -1) {
		ref := seeRef(sm[1])
		if ref == "" {
			continue
		}
		if ok, known := m.resolve(p, ref); known && !ok {
			problems = append(problems, fmt.Sprintf("%q names nothing in the module", sm[0]))
		}
	}
	return problems
}

// docLinks lists the doc links of a parsed comment.
func docLinks(d *comment.Doc) []*comment.DocLink {
	var out []*comment.DocLink
	var texts func([]comment.Text)
	texts = func(ts []comment.Text) {
		for _, t := range ts {
			switch t := t.(type) {
			case *comment.DocLink:
				out = append(out, t)
			case *comment.Link:
				texts(t.Text)
			}
		}
	}
	var blocks func([]comment.Block)
	blocks = func(bs []comment.Block) {
		for _, b := range bs {
			switch b := b.(type) {
			case *comment.Paragraph:
				texts(b.Text)
			case *comment.Heading:
				texts(b.Text)
			case *comment.List:
				for _, it := range b.Items {
					blocks(it.Content)
				}
			}
		}
	}
	blocks(d.Content)
	return out
}
