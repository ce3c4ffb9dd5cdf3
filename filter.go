package users

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gousers/users/internal/echo"
)

// filterField is the settings field every filter error names.
const filterField = "public_registration_email_filter"

// Limits on a filter document, so that a hostile or mistaken settings
// payload cannot make parsing or evaluation expensive.
const (
	// maxFilterDepth is how many _and/_or levels may be nested.
	maxFilterDepth = 32
	// maxFilterNodes bounds filter objects + operators + _in/_nin items.
	maxFilterNodes = 10000
	// maxFilterBytes bounds the size of the document.
	maxFilterBytes = 1 << 20
	// mergeThreshold is how many sibling rules of one family (_eq/_in,
	// _ends_with "@domain", _ends_with "suffix") an _or (or, negated, an
	// _and) must hold before they are evaluated as one hash-set lookup
	// instead of one by one.
	mergeThreshold = 8
)

// Filter is a compiled Directus-style email filter, the settings field
// public_registration_email_filter. It is immutable (except through
// UnmarshalJSON) and safe for concurrent use.
//
// A filter document is a JSON object whose keys are all required to hold:
//
//   - "email": an object of operators, all of which must hold:
//     _eq _neq _contains _ncontains _icontains _nicontains _starts_with
//     _nstarts_with _istarts_with _nistarts_with _ends_with _nends_with
//     _iends_with _niends_with (a string each); _in _nin (an array of
//     strings, or one comma-separated string whose items are trimmed and
//     whose empty items are dropped; _in: [] matches nothing, _nin: []
//     matches everything); _null _nnull _empty _nempty (true or false, or
//     the strings "true" and "false"; false negates); _regex (a string, see
//     below).
//   - "_and": a non-empty array of filter objects, all of which must hold.
//   - "_or": a non-empty array of filter objects, one of which must hold.
//
// For example {"_and":[{"email":{"_ends_with":"@example.com"}},
// {"email":{"_nstarts_with":"test"}}]} admits a@example.com but not
// test1@example.com.
//
// ParseFilter rejects, with a reason that names the offending node (as in
// `_and[1].email: unknown operator "_foo"`): invalid JSON, a top level that
// is not an object, an unknown field or operator, a value of the wrong type,
// a duplicate key, an empty object ({} or {"email":{}}), an empty _and or _or
// (a filter that admits everyone is no filter at all: null), a _regex that
// does not compile, more than 32 nested levels of _and/_or, more than 10,000
// nodes, or a document over 1 MiB.
//
// _regex takes a pattern in Go's RE2 syntax, which for the usual email
// patterns is the syntax of JavaScript's RegExp: either a plain pattern
// ("^[a-z]+@example\\.com$") or the literal form "/pattern/" or
// "/pattern/i" (no other flag). JavaScript's \uXXXX escape is accepted.
// Lookaround and backreferences, which RE2 cannot match in linear time, are
// rejected when parsed. Like RegExp.test, the pattern matches anywhere in the
// email unless anchored.
//
// The zero Filter, like a nil *Filter, is the absent filter: it matches
// every email and marshals as JSON null.
type Filter struct {
	doc  []byte // the compacted document; nil for the absent filter
	root *filterNode
}

// ParseFilter parses and compiles a filter document (see [Filter]). Every
// error is a [*ValidationError] for the field
// "public_registration_email_filter" that matches [ErrInvalidPayload].
func ParseFilter(doc []byte) (*Filter, error) {
	if len(doc) > maxFilterBytes {
		return nil, filterErrorf("", "document is larger than %d bytes", maxFilterBytes)
	}
	if !utf8.Valid(doc) {
		return nil, filterErrorf("", "document is not valid UTF-8")
	}
	p := &filterParser{doc: doc, dec: json.NewDecoder(bytes.NewReader(doc))}
	p.dec.UseNumber()
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, filterErrorf("", "want a JSON object, got %s", describeToken(tok))
	}
	root, err := p.object("", 0)
	if err != nil {
		return nil, err
	}
	if tok, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, p.jsonError(err)
		}
		return nil, filterErrorf("", "invalid JSON: %s after the filter object", describeToken(tok))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil { // the decoder has read it all: cannot fail
		return nil, filterErrorf("", "invalid JSON: %v", err)
	}
	return &Filter{doc: buf.Bytes(), root: root}, nil
}

// Match reports whether email satisfies the filter. A nil or zero Filter
// matches every email. Match neither trims nor validates email.
//
// Case rule: the email's domain (the part after its last '@') is compared
// case-insensitively and its local part (before that '@') case-sensitively,
// so _eq "A@Example.com" matches "A@example.COM" but not "a@example.com",
// and _ends_with "@example.com" (or "COM") matches "a@EXAMPLE.COM". Each
// operand is split the same way: what follows its last '@' lines up with the
// email's domain, and an operand without '@' can only lie wholly inside the
// local part or wholly inside the domain, so _contains "X.COM" matches
// "a@x.com" while _contains "BOB" does not match "bob@x.com", and
// _starts_with "bob" never reaches into the domain. The _i* operators compare
// the whole email case-insensitively. Case-insensitive comparisons use
// Unicode simple case folding (as [strings.EqualFold]); a byte that is not
// valid UTF-8 equals nothing under folding. _regex sees the email with its
// domain lower-cased (unless the pattern has the i flag, when it sees the
// email as given).
//
// Match does not allocate, except for a _regex when the domain has
// upper-case letters, and for an _in of 8 or more addresses when the email
// is longer than 256 bytes and its domain has upper-case letters.
func (f *Filter) Match(email string) bool {
	if f == nil || f.root == nil {
		return true
	}
	e := splitFilterInput(email)
	return f.root.eval(&e)
}

// MarshalJSON returns the document given to ParseFilter, with insignificant
// whitespace removed, or null for a nil or zero Filter.
func (f *Filter) MarshalJSON() ([]byte, error) {
	if f == nil || f.doc == nil {
		return []byte("null"), nil
	}
	return bytes.Clone(f.doc), nil
}

// UnmarshalJSON sets f to ParseFilter(b); JSON null sets it to the absent
// (zero) Filter. On error f is unchanged.
func (f *Filter) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*f = Filter{}
		return nil
	}
	g, err := ParseFilter(b)
	if err != nil {
		return err
	}
	*f = *g
	return nil
}

// String returns the filter's JSON document, as MarshalJSON does.
func (f *Filter) String() string {
	if f == nil || f.doc == nil {
		return "null"
	}
	return string(f.doc)
}

// filterErrorf builds the *ValidationError of a bad filter; path locates the
// bad node ("" for the document itself).
func filterErrorf(path, format string, args ...any) error {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = echo.Cut(s) // the caller's input: cut to echo.Max characters
		}
	}
	reason := fmt.Sprintf(format, args...)
	if path != "" {
		reason = echo.Cut(path) + ": " + reason
	}
	return invalid(filterField, reason)
}

// ---------------------------------------------------------------------------
// Parsing

// filterParser compiles a document from a json.Decoder's token stream, so
// that a value of the wrong type is refused before it is read, and nesting
// is bounded by the filter grammar rather than by the JSON.
type filterParser struct {
	doc   []byte
	dec   *json.Decoder
	nodes int
}

// token reads the next token.
func (p *filterParser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.jsonError(err)
	}
	return tok, nil
}

// jsonError describes a json.Decoder error. The decoder's offsets are not
// reliable in token mode, so the document is checked whole again to say
// where the syntax error is.
func (p *filterParser) jsonError(err error) error {
	if verr := json.Unmarshal(p.doc, new(json.RawMessage)); verr != nil {
		err = verr
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return filterErrorf("", "invalid JSON at byte %d: %v", se.Offset, se)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return filterErrorf("", "invalid JSON: unexpected end of input")
	}
	return filterErrorf("", "invalid JSON: %v", err)
}

// count adds n nodes to the total and fails past the limit.
func (p *filterParser) count(path string, n int) error {
	p.nodes += n
	if p.nodes > maxFilterNodes {
		return filterErrorf(path, "filter is too large: more than %d nodes (filter objects, operators and _in/_nin items)", maxFilterNodes)
	}
	return nil
}

// key reads an object key and rejects a duplicate.
func (p *filterParser) key(path string, seen *[]string) (string, error) {
	tok, err := p.token()
	if err != nil {
		return "", err
	}
	k, _ := tok.(string) // object keys are always strings
	for _, s := range *seen {
		if s == k {
			return "", filterErrorf(path, "duplicate key %q", k)
		}
	}
	*seen = append(*seen, k)
	return k, nil
}

// object compiles a filter object whose '{' has been read.
func (p *filterParser) object(path string, depth int) (*filterNode, error) {
	if err := p.count(path, 1); err != nil {
		return nil, err
	}
	var (
		kids []*filterNode
		seen []string
	)
	for p.dec.More() {
		k, err := p.key(path, &seen)
		if err != nil {
			return nil, err
		}
		var n *filterNode
		switch k {
		case "email":
			n, err = p.condition(filterPath(path, k))
		case "_and", "_or":
			n, err = p.group(filterPath(path, k), k, depth+1)
		default:
			return nil, filterErrorf(path, `unknown field %q (want "email", "_and" or "_or")`, k)
		}
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if _, err := p.token(); err != nil { // '}'
		return nil, err
	}
	if len(kids) == 0 {
		if path == "" {
			return nil, filterErrorf(path, `empty filter {}: give at least one condition (no filter at all is null)`)
		}
		return nil, filterErrorf(path, `empty filter object {}: give at least one condition`)
	}
	return newFilterGroup(kindAnd, kids), nil
}

// group compiles the array of an _and or _or.
func (p *filterParser) group(path, op string, depth int) (*filterNode, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, filterErrorf(path, "want an array of filter objects, got %s", describeToken(tok))
	}
	if depth > maxFilterDepth {
		return nil, filterErrorf(path, "nested too deeply: more than %d levels of _and/_or", maxFilterDepth)
	}
	var kids []*filterNode
	for i := 0; p.dec.More(); i++ {
		ipath := path + "[" + strconv.Itoa(i) + "]"
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		if tok != json.Delim('{') {
			return nil, filterErrorf(ipath, "want a filter object, got %s", describeToken(tok))
		}
		n, err := p.object(ipath, depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if _, err := p.token(); err != nil { // ']'
		return nil, err
	}
	if len(kids) == 0 {
		return nil, filterErrorf(path, "empty array: %s needs at least one filter object", op)
	}
	if op == "_or" {
		return newFilterGroup(kindOr, kids), nil
	}
	return newFilterGroup(kindAnd, kids), nil
}

// condition compiles the operator object of the field "email".
func (p *filterParser) condition(path string) (*filterNode, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, filterErrorf(path, "want an object of operators, got %s", describeToken(tok))
	}
	var (
		kids []*filterNode
		seen []string
	)
	for p.dec.More() {
		op, err := p.key(path, &seen)
		if err != nil {
			return nil, err
		}
		if err := p.count(path, 1); err != nil {
			return nil, err
		}
		n, err := p.operator(path, op)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if _, err := p.token(); err != nil { // '}'
		return nil, err
	}
	if len(kids) == 0 {
		return nil, filterErrorf(path, "empty condition {}: give at least one operator")
	}
	return newFilterGroup(kindAnd, kids), nil
}

// filterStringOps maps each string operator to its kind and negation.
var filterStringOps = map[string]struct {
	kind filterKind
	neg  bool
}{
	"_eq":            {kindEq, false},
	"_neq":           {kindEq, true},
	"_contains":      {kindContains, false},
	"_ncontains":     {kindContains, true},
	"_icontains":     {kindIContains, false},
	"_nicontains":    {kindIContains, true},
	"_starts_with":   {kindStartsWith, false},
	"_nstarts_with":  {kindStartsWith, true},
	"_istarts_with":  {kindIStartsWith, false},
	"_nistarts_with": {kindIStartsWith, true},
	"_ends_with":     {kindEndsWith, false},
	"_nends_with":    {kindEndsWith, true},
	"_iends_with":    {kindIEndsWith, false},
	"_niends_with":   {kindIEndsWith, true},
}

// operator compiles one operator of a condition; path is the condition's.
func (p *filterParser) operator(path, op string) (*filterNode, error) {
	opath := path + "." + op
	if so, ok := filterStringOps[op]; ok {
		s, err := p.stringValue(opath)
		if err != nil {
			return nil, err
		}
		return newStringNode(so.kind, so.neg, s), nil
	}
	switch op {
	case "_in", "_nin":
		items, err := p.stringList(opath)
		if err != nil {
			return nil, err
		}
		set := make(map[string]struct{}, len(items))
		for _, s := range items {
			set[filterKey(s)] = struct{}{}
		}
		return &filterNode{kind: kindIn, neg: op == "_nin", set: set}, nil
	case "_null", "_nnull", "_empty", "_nempty":
		b, err := p.boolValue(opath)
		if err != nil {
			return nil, err
		}
		switch op {
		case "_null": // an email is never null
			return &filterNode{kind: kindConst, val: !b}, nil
		case "_nnull":
			return &filterNode{kind: kindConst, val: b}, nil
		case "_empty":
			return &filterNode{kind: kindEmpty, neg: !b}, nil
		default: // _nempty
			return &filterNode{kind: kindEmpty, neg: b}, nil
		}
	case "_regex":
		s, err := p.stringValue(opath)
		if err != nil {
			return nil, err
		}
		return compileFilterRegex(opath, s)
	}
	return nil, filterErrorf(path, "unknown operator %q", op)
}

func (p *filterParser) stringValue(path string) (string, error) {
	tok, err := p.token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", filterErrorf(path, "want a string, got %s", describeToken(tok))
	}
	return s, nil
}

// stringList reads an array of strings or a comma-separated string.
func (p *filterParser) stringList(path string) ([]string, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if s, ok := tok.(string); ok {
		var items []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		return items, p.count(path, len(items))
	}
	if tok != json.Delim('[') {
		return nil, filterErrorf(path, "want an array of strings or a comma-separated string, got %s", describeToken(tok))
	}
	items := []string{}
	for i := 0; p.dec.More(); i++ {
		ipath := path + "[" + strconv.Itoa(i) + "]"
		s, err := p.stringValue(ipath)
		if err != nil {
			return nil, err
		}
		if err := p.count(ipath, 1); err != nil {
			return nil, err
		}
		items = append(items, s)
	}
	if _, err := p.token(); err != nil { // ']'
		return nil, err
	}
	return items, nil
}

// boolValue reads true, false, "true" or "false".
func (p *filterParser) boolValue(path string) (bool, error) {
	tok, err := p.token()
	if err != nil {
		return false, err
	}
	switch v := tok.(type) {
	case bool:
		return v, nil
	case string:
		switch v {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, filterErrorf(path, "want true or false, got %s", describeToken(tok))
}

// describe names a token's JSON type for an error message; a short string
// or number is quoted, as the reader will want to find it.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "array"
		}
		return "object"
	case string:
		if len(v) <= 40 {
			return fmt.Sprintf("string %q", v)
		}
		return "string"
	case json.Number:
		if len(v) <= 40 {
			return "number " + string(v)
		}
		return "number"
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

func filterPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// compileFilterRegex compiles a _regex operand.
func compileFilterRegex(path, v string) (*filterNode, error) {
	pattern, fold := v, false
	if last := strings.LastIndexByte(v, '/'); len(v) >= 2 && v[0] == '/' && last > 0 && isRegexFlags(v[last+1:]) {
		pattern = v[1:last]
		switch flags := v[last+1:]; flags {
		case "":
		case "i":
			fold = true
		default:
			return nil, filterErrorf(path, `unsupported flags %q in %q: only "i" is supported`, flags, v)
		}
	}
	expr := translateJSEscapes(pattern)
	if fold {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		hint := ""
		var se *syntax.Error
		if errors.As(err, &se) {
			switch {
			case strings.HasPrefix(se.Expr, "(?=") || strings.HasPrefix(se.Expr, "(?!") || strings.HasPrefix(se.Expr, "(?<=") || strings.HasPrefix(se.Expr, "(?<!"):
				hint = "lookahead and lookbehind are JavaScript-only and Go's RE2 engine cannot compile them; "
			case se.Code == syntax.ErrInvalidEscape && len(se.Expr) == 2 && ('1' <= se.Expr[1] && se.Expr[1] <= '9' || se.Expr[1] == 'k'):
				hint = "backreferences are JavaScript-only and Go's RE2 engine cannot compile them; "
			}
		}
		return nil, filterErrorf(path, "cannot compile regular expression %q: %s%v", v, hint, err)
	}
	return &filterNode{kind: kindRegex, re: re, reFold: fold}, nil
}

func isRegexFlags(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// translateJSEscapes rewrites JavaScript's \uXXXX escape, which RE2 spells
// \x{XXXX}; everything else is left for regexp to judge.
func translateJSEscapes(p string) string {
	if !strings.Contains(p, `\u`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '\\' || i+1 == len(p) {
			b.WriteByte(p[i])
			continue
		}
		if p[i+1] == 'u' && i+6 <= len(p) && isHex4(p[i+2:i+6]) {
			b.WriteString(`\x{` + p[i+2:i+6] + "}")
			i += 5
			continue
		}
		b.WriteString(p[i : i+2])
		i++
	}
	return b.String()
}

func isHex4(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f') {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// Compiled form

type filterKind uint8

const (
	kindAnd filterKind = iota
	kindOr
	kindConst       // val
	kindEmpty       // email == ""
	kindEq          // email equals the operand (case rule of Match)
	kindContains    // email contains the operand (case rule of Match)
	kindStartsWith  // email starts with the operand (case rule of Match)
	kindEndsWith    // email ends with the operand (case rule of Match)
	kindIContains   // folded email contains f
	kindIStartsWith // folded email starts with f
	kindIEndsWith   // folded email ends with f
	kindIn          // the email's key (see filterKey) is in set
	kindDomainSet   // the email's folded domain is in set
	kindSuffixSet   // a suffix of the email's folded domain is in set
	kindRegex       // re matches
)

// filterNode is one node of a compiled filter. Its result is negated when
// neg is set.
type filterNode struct {
	kind filterKind
	neg  bool
	val  bool          // kindConst
	kids []*filterNode // kindAnd, kindOr

	// String operands. For the case-sensitive kinds, s is the operand as
	// given; when it contains '@' (at), a is what precedes its last '@' and
	// f is the folded rest, else f is the whole operand folded. For the _i*
	// kinds, f is the whole operand folded.
	s, a, f string
	at      bool

	set  map[string]struct{} // kindIn, kindDomainSet, kindSuffixSet
	list []string            // kindSuffixSet: the operands, for an email without '@'

	re     *regexp.Regexp // kindRegex
	reFold bool           // kindRegex: the i flag; match the email as given
}

func newStringNode(kind filterKind, neg bool, s string) *filterNode {
	n := &filterNode{kind: kind, neg: neg, s: s}
	switch kind {
	case kindIContains, kindIStartsWith, kindIEndsWith:
		n.f = foldString(s)
	default:
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			n.at, n.a, n.f = true, s[:i], foldString(s[i+1:])
		} else {
			n.f = foldString(s)
		}
	}
	return n
}

// filterKey is the form in which an address is kept in an _in set: local
// part as given, domain folded. An operand without '@' is kept as given.
func filterKey(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i+1] + foldString(s[i+1:])
	}
	return s
}

// newFilterGroup builds an _and or _or node: nested groups of the same kind are
// flattened, large families of set-like siblings are merged into one
// set lookup, and a group of one is that one.
func newFilterGroup(kind filterKind, kids []*filterNode) *filterNode {
	flat := make([]*filterNode, 0, len(kids))
	for _, k := range kids {
		if k.kind == kind {
			flat = append(flat, k.kids...)
		} else {
			flat = append(flat, k)
		}
	}
	flat = mergeFilterSets(kind, flat)
	if len(flat) == 1 {
		return flat[0]
	}
	return &filterNode{kind: kind, kids: flat}
}

// mergeFilterSets replaces, among the children of an _or, many positive _eq/_in
// by one _in, many _ends_with "@domain" by one domain set, and many
// _ends_with "suffix" (no '@') by one suffix set; and among the children of
// an _and, the negated forms likewise (not a or not b = not (a or b)).
func mergeFilterSets(kind filterKind, kids []*filterNode) []*filterNode {
	neg := kind == kindAnd
	family := func(k *filterNode) filterKind {
		if k.neg != neg {
			return kindAnd // none
		}
		switch {
		case k.kind == kindEq || k.kind == kindIn:
			return kindIn
		case k.kind == kindEndsWith && k.at && k.a == "":
			return kindDomainSet
		case k.kind == kindEndsWith && !k.at:
			return kindSuffixSet
		}
		return kindAnd
	}
	var count [kindRegex + 1]int
	keys := 0
	for _, k := range kids {
		fam := family(k)
		count[fam]++
		if fam == kindIn {
			if k.kind == kindIn {
				keys += len(k.set)
			} else {
				keys++
			}
		}
	}
	merge := func(fam filterKind) bool {
		switch fam {
		case kindIn:
			return count[fam] >= 2 && keys >= mergeThreshold
		case kindDomainSet, kindSuffixSet:
			return count[fam] >= mergeThreshold
		}
		return false
	}
	if !merge(kindIn) && !merge(kindDomainSet) && !merge(kindSuffixSet) {
		return kids
	}
	merged := map[filterKind]*filterNode{}
	out := make([]*filterNode, 0, len(kids))
	for _, k := range kids {
		fam := family(k)
		if !merge(fam) {
			out = append(out, k)
			continue
		}
		m := merged[fam]
		if m == nil {
			m = &filterNode{kind: fam, neg: neg, set: map[string]struct{}{}}
			merged[fam] = m
			out = append(out, m)
		}
		switch {
		case k.kind == kindIn:
			for key := range k.set {
				m.set[key] = struct{}{}
			}
		case fam == kindIn: // kindEq
			m.set[filterKey(k.s)] = struct{}{}
		case fam == kindDomainSet:
			m.set[k.f] = struct{}{}
		default: // kindSuffixSet
			if _, dup := m.set[k.f]; !dup {
				m.list = append(m.list, k.s)
			}
			m.set[k.f] = struct{}{}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Evaluation

// filterInput is an email address split for evaluation.
type filterInput struct {
	s, local, domain string // local is s when there is no '@'
	at               bool
	folded           bool // domain is already folded (ASCII without upper case)
}

func splitFilterInput(s string) filterInput {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return filterInput{s: s, local: s}
	}
	e := filterInput{s: s, local: s[:i], domain: s[i+1:], at: true, folded: true}
	for j := 0; j < len(e.domain); j++ {
		if c := e.domain[j]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			e.folded = false
			break
		}
	}
	return e
}

func (n *filterNode) eval(e *filterInput) bool {
	switch n.kind {
	case kindAnd:
		for _, k := range n.kids {
			if !k.eval(e) {
				return false
			}
		}
		return true
	case kindOr:
		for _, k := range n.kids {
			if k.eval(e) {
				return true
			}
		}
		return false
	}
	var r bool
	switch n.kind {
	case kindConst:
		r = n.val
	case kindEmpty:
		r = e.s == ""
	case kindEq:
		if n.at {
			r = e.at && e.local == n.a && foldedEqual(e.domain, n.f)
		} else {
			r = !e.at && e.s == n.s
		}
	case kindContains:
		if n.at {
			r = e.at && strings.HasSuffix(e.local, n.a) && foldedHasPrefix(e.domain, n.f) ||
				strings.Contains(e.local, n.s)
		} else {
			r = strings.Contains(e.local, n.s) || e.at && foldedContains(e.domain, n.f)
		}
	case kindStartsWith:
		if n.at {
			r = e.at && e.local == n.a && foldedHasPrefix(e.domain, n.f) ||
				strings.HasPrefix(e.local, n.s)
		} else {
			r = strings.HasPrefix(e.local, n.s)
		}
	case kindEndsWith:
		switch {
		case n.at:
			r = e.at && strings.HasSuffix(e.local, n.a) && foldedEqual(e.domain, n.f)
		case e.at:
			r = foldedHasSuffix(e.domain, n.f)
		default:
			r = strings.HasSuffix(e.s, n.s)
		}
	case kindIContains:
		r = foldedContains(e.s, n.f)
	case kindIStartsWith:
		r = foldedHasPrefix(e.s, n.f)
	case kindIEndsWith:
		r = foldedHasSuffix(e.s, n.f)
	case kindIn:
		r = n.inSet(e)
	case kindDomainSet:
		r = e.at && n.domainInSet(e)
	case kindSuffixSet:
		r = n.suffixInSet(e)
	case kindRegex:
		r = n.re.MatchString(n.regexInput(e))
	}
	return r != n.neg
}

// filterKeyBuf is the stack buffer in which a key is folded; longer emails
// (beyond the 254 bytes an address may have) cost an allocation.
const filterKeyBuf = 256

func (n *filterNode) inSet(e *filterInput) bool {
	if len(n.set) == 0 {
		return false
	}
	if !e.at || e.folded {
		_, ok := n.set[e.s]
		return ok
	}
	var buf [filterKeyBuf]byte
	k := append(buf[:0], e.s[:len(e.local)+1]...)
	k = appendFold(k, e.domain)
	_, ok := n.set[string(k)]
	return ok
}

func (n *filterNode) domainInSet(e *filterInput) bool {
	if e.folded {
		_, ok := n.set[e.domain]
		return ok
	}
	var buf [filterKeyBuf]byte
	k := appendFold(buf[:0], e.domain)
	_, ok := n.set[string(k)]
	return ok
}

func (n *filterNode) suffixInSet(e *filterInput) bool {
	if !e.at { // the whole string is a local part: compare as given
		for _, s := range n.list {
			if strings.HasSuffix(e.s, s) {
				return true
			}
		}
		return false
	}
	if e.folded {
		d := e.domain
		for i := 0; i <= len(d); i++ {
			if _, ok := n.set[d[i:]]; ok {
				return true
			}
		}
		return false
	}
	var buf [filterKeyBuf]byte
	d := appendFold(buf[:0], e.domain)
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i]&0xC0 == 0x80 {
			continue // not the start of a rune
		}
		if _, ok := n.set[string(d[i:])]; ok {
			return true
		}
	}
	return false
}

// regexInput is the email with its domain lower-cased, or as given for a
// pattern with the i flag.
func (n *filterNode) regexInput(e *filterInput) string {
	if n.reFold || e.folded || !e.at {
		return e.s
	}
	if d := strings.ToLower(e.domain); d != e.domain {
		return e.s[:len(e.local)+1] + d
	}
	return e.s
}

// ---------------------------------------------------------------------------
// Case folding without allocation
//
// Every rune is folded to one canonical member of its Unicode simple
// case-folding orbit: the lower-case letter for an orbit that holds an ASCII
// letter, else the smallest rune of the orbit. Two runes are equal under
// strings.EqualFold exactly when their folds are equal, and a fold is never
// longer in UTF-8 than the rune it folds, so folded text is never longer than
// its source.

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	if 'A' <= m && m <= 'Z' {
		m += 'a' - 'A'
	}
	return m
}

// foldString folds s (which is valid UTF-8: it comes from a JSON document).
func foldString(s string) string {
	return string(appendFold(nil, s))
}

// appendFold appends s folded to dst; a byte that is not valid UTF-8 is
// copied as is, so the result equals no folded valid text.
func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, foldRune(r))
		}
		i += w
	}
	return dst
}

// foldedPrefixLen reports whether s begins with text whose fold is f (folded),
// and how many bytes of s that text takes.
func foldedPrefixLen(s, f string) (int, bool) {
	i, j := 0, 0
	for j < len(f) {
		if len(s)-i < len(f)-j {
			return 0, false
		}
		c, d := s[i], f[j]
		if c|d < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != d {
				return 0, false
			}
			i++
			j++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			return 0, false
		}
		fr, fw := utf8.DecodeRuneInString(f[j:])
		if foldRune(r) != fr {
			return 0, false
		}
		i += w
		j += fw
	}
	return i, true
}

func foldedHasPrefix(s, f string) bool {
	_, ok := foldedPrefixLen(s, f)
	return ok
}

func foldedEqual(s, f string) bool {
	n, ok := foldedPrefixLen(s, f)
	return ok && n == len(s)
}

func foldedHasSuffix(s, f string) bool {
	i, j := len(s), len(f)
	for j > 0 {
		if i < j {
			return false
		}
		c, d := s[i-1], f[j-1]
		if c|d < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != d {
				return false
			}
			i--
			j--
			continue
		}
		r, w := utf8.DecodeLastRuneInString(s[:i])
		if r == utf8.RuneError && w == 1 {
			return false
		}
		fr, fw := utf8.DecodeLastRuneInString(f[:j])
		if foldRune(r) != fr {
			return false
		}
		i -= w
		j -= fw
	}
	return true
}

func foldedContains(s, f string) bool {
	if f == "" {
		return true
	}
	f0 := f[0]
	for i := 0; len(s)-i >= len(f); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != f0 {
				continue
			}
		} else if c < 0xC0 {
			continue // a continuation byte starts no rune
		}
		if _, ok := foldedPrefixLen(s[i:], f); ok {
			return true
		}
	}
	return false
}
