package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// A mdDoc is a Markdown file, read as far as these tests need: its code
// blocks, headings, links, inline code spans and tables. It is not a full
// CommonMark parser; the docs are written to be read by it (fenced code
// blocks, ATX headings, inline links, pipe tables).
type mdDoc struct {
	Path     string // relative to the module root, slash-separated
	Lines    []string
	Blocks   []mdBlock
	Anchors  map[string]bool // GitHub's heading anchors
	Headings []string
	Links    []mdLink
	Spans    []mdSpan // inline code outside code blocks
	Prose    []mdSpan // lines outside code blocks, inline code blanked
	Tables   []mdTable
}

type mdBlock struct {
	Lang string
	Line int // of the opening fence, 1-based
	Text string
}

type mdLink struct {
	Line   int
	Image  bool
	Text   string // inline code marks removed
	Target string
}

// mdSpan is a piece of text and the line it is on.
type mdSpan struct {
	Line int
	Text string
}

type mdTable struct {
	Line   int // of the header row
	Header []string
	Rows   [][]string
}

var (
	fenceRE   = regexp.MustCompile("^ {0,3}(```+|~~~+)\\s*([A-Za-z0-9_+-]*)")
	headingRE = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	codeRE    = regexp.MustCompile("`+([^`]+)`+")
	// linkRE matches [text](target) and ![alt](src); text may hold one
	// level of brackets.
	linkRE    = regexp.MustCompile(`(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	linkDefRE = regexp.MustCompile(`^ {0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$`)
	tableSep  = regexp.MustCompile(`^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$`)
)

func readDoc(root, rel string) (*mdDoc, error) {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	return parseDoc(rel, string(b)), nil
}

func parseDoc(rel, text string) *mdDoc {
	d := &mdDoc{Path: rel, Lines: strings.Split(text, "\n"), Anchors: map[string]bool{}}
	slugs := map[string]int{}
	var block *mdBlock
	var fence string
	for i, line := range d.Lines {
		n := i + 1
		if block != nil {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				d.Blocks = append(d.Blocks, *block)
				block = nil
				continue
			}
			block.Text += line + "\n"
			continue
		}
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			block, fence = &mdBlock{Lang: m[2], Line: n}, m[1]
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			d.Headings = append(d.Headings, m[2])
			s := slug(m[2])
			if k := slugs[s]; k > 0 {
				d.Anchors[s+"-"+strconv.Itoa(k)] = true
			} else {
				d.Anchors[s] = true
			}
			slugs[s]++
		}
		codes := codeRE.FindAllStringSubmatchIndex(line, -1)
		inCode := func(pos int) bool {
			for _, c := range codes {
				if pos >= c[0] && pos < c[1] {
					return true
				}
			}
			return false
		}
		for _, c := range codes {
			d.Spans = append(d.Spans, mdSpan{n, line[c[2]:c[3]]})
		}
		for _, m := range linkRE.FindAllStringSubmatchIndex(line, -1) {
			if inCode(m[0]) {
				continue
			}
			d.Links = append(d.Links, mdLink{Line: n, Image: m[3] > m[2], Text: strings.ReplaceAll(line[m[4]:m[5]], "`", ""), Target: line[m[6]:m[7]]})
		}
		if m := linkDefRE.FindStringSubmatch(line); m != nil {
			d.Links = append(d.Links, mdLink{Line: n, Text: m[1], Target: m[2]})
		}
		d.Prose = append(d.Prose, mdSpan{n, codeRE.ReplaceAllStringFunc(line, func(s string) string { return strings.Repeat(" ", len(s)) })})
	}
	if block != nil { // an unclosed fence runs to the end
		d.Blocks = append(d.Blocks, *block)
	}
	d.Tables = tables(d)
	return d
}

// tables finds the pipe tables among the prose lines.
func tables(d *mdDoc) []mdTable {
	var out []mdTable
	prose := d.Prose
	for i := 1; i < len(prose); i++ {
		if !tableSep.MatchString(prose[i].Text) || prose[i].Line != prose[i-1].Line+1 || !strings.Contains(prose[i-1].Text, "|") {
			continue
		}
		t := mdTable{Line: prose[i-1].Line, Header: cells(d.Lines[prose[i-1].Line-1])}
		for j := i + 1; j < len(prose) && prose[j].Line == prose[j-1].Line+1 && strings.HasPrefix(strings.TrimSpace(prose[j].Text), "|"); j++ {
			t.Rows = append(t.Rows, cells(d.Lines[prose[j].Line-1]))
		}
		out = append(out, t)
	}
	return out
}

// cells splits a table row into its trimmed cells.
func cells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	row = strings.TrimSuffix(row, "|")
	var out []string
	for _, c := range strings.Split(row, "|") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// slug is the anchor GitHub gives a heading: its text without markup,
// lower-cased, without punctuation but hyphens and underscores, spaces
// turned into hyphens.
func slug(heading string) string {
	heading = linkRE.ReplaceAllString(heading, "$2")
	heading = strings.NewReplacer("`", "", "*", "").Replace(heading)
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// docFiles are the Markdown files the doc tests read, relative to the
// module root: the README, every page of docs/, BENCHMARKS.md and
// CHANGELOG.md.
func docFiles(root string) ([]string, error) {
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	out := []string{"README.md", "BENCHMARKS.md", "CHANGELOG.md"}
	for _, p := range pages {
		out = append(out, "docs/"+filepath.Base(p))
	}
	return out, nil
}
