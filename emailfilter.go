package users

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gousers/users/store"
)

// emailFilterField is the settings field every email filter error names.
const emailFilterField = "public_registration_email_filter"

// mergeThreshold is how many sibling rules of one family (_eq/_in,
// _ends_with "@domain", _ends_with "suffix") an _or (or, negated, an _and)
// must hold before they are evaluated as one hash-set lookup instead of one
// by one.
const mergeThreshold = 8

// EmailFilter is the registration email filter, the settings field
// public_registration_email_filter: a filter in the grammar of
// [ParseFilter] restricted to the field email, compiled for [EmailFilter.Match].
// For example {"_and":[{"email":{"_ends_with":"@example.com"}},
// {"email":{"_nstarts_with":"test"}}]} admits a@example.com but not
// test1@example.com.
//
// It is immutable (except through UnmarshalJSON) and safe for concurrent
// use. A nil or zero EmailFilter is no filter: it matches every email and
// marshals as JSON null.
type EmailFilter struct {
	doc  []byte // the compacted document; nil for no filter
	root *filterNode
}

// ParseEmailFilter parses and compiles an email filter (see [EmailFilter]).
// It returns nil for null, and a filter that matches every email for {}.
// It refuses what [ParseFilter] refuses, with the same reasons, and a
// field other than email; every error is a [*ValidationError] for the
// field "public_registration_email_filter" that matches
// [ErrInvalidPayload].
//
// _regex takes a pattern in Go's RE2 syntax, which for the usual email
// patterns is the syntax of JavaScript's RegExp: either a plain pattern
// ("^[a-z]+@example\\.com$") or the literal form "/pattern/" or
// "/pattern/i" (no other flag). JavaScript's \uXXXX escape is accepted.
// Lookaround and backreferences, which RE2 cannot match in linear time, are
// refused. Like RegExp.test, the pattern matches anywhere in the email
// unless anchored.
func ParseEmailFilter(doc []byte) (*EmailFilter, error) {
	tree, compact, err := parseFilter(doc, emailFilterSchema)
	if err != nil {
		return nil, invalid(emailFilterField, err.Error())
	}
	if compact == nil {
		return nil, nil
	}
	f := &EmailFilter{doc: compact}
	if tree != nil {
		f.root = compileEmailFilter(tree)
	}
	return f, nil
}

// Match reports whether email satisfies the filter. A nil or zero
// EmailFilter matches every email. Match neither trims nor validates
// email.
//
// Letter case never counts, since accounts are keyed by the lower-cased
// address: every operator compares the email and its operand
// case-insensitively (the _i operators are the same as the others), by
// Unicode simple case folding (as [strings.EqualFold]); a byte that is not
// valid UTF-8 equals nothing. _regex sees the email lower-cased (as
// [NormalizeEmail] does), so a pattern with upper-case letters matches
// only with the i flag. An empty email is null and empty.
//
// Match does not allocate, except for a _regex when the email has
// upper-case letters, and for the set lookups (an _in, or 8 or more _eq or
// _ends_with rules in one _or) when the email is longer than 256 bytes and
// has upper-case or non-ASCII letters.
func (f *EmailFilter) Match(email string) bool {
	if f == nil || f.root == nil {
		return true
	}
	e := newFilterInput(email)
	return f.root.eval(&e)
}

// MarshalJSON returns the document given to ParseEmailFilter, with
// insignificant white space removed, or null for a nil or zero
// EmailFilter.
func (f *EmailFilter) MarshalJSON() ([]byte, error) {
	if f == nil {
		return filterDocJSON(nil), nil
	}
	return filterDocJSON(f.doc), nil
}

// UnmarshalJSON sets f to ParseEmailFilter(b); JSON null sets it to the
// zero EmailFilter. On error f is unchanged.
func (f *EmailFilter) UnmarshalJSON(b []byte) error { return unmarshalFilter(f, b, ParseEmailFilter) }

// String returns the filter's JSON document, as MarshalJSON does.
func (f *EmailFilter) String() string {
	b, _ := f.MarshalJSON()
	return string(b)
}

// ---------------------------------------------------------------------------
// Compiled form

type filterKind uint8

const (
	kindAnd filterKind = iota
	kindOr
	kindEmpty      // email == ""
	kindEq         // the folded email is f
	kindContains   // the folded email contains f
	kindStartsWith // the folded email starts with f
	kindEndsWith   // the folded email ends with f
	kindIn         // the folded email is in set
	kindDomainSet  // the folded domain (after the last '@') is in set
	kindSuffixSet  // a suffix of the folded domain (of the whole email without '@') is in set
	kindRegex      // re matches the lower-cased email
)

// filterNode is one node of a compiled email filter. Its result is negated
// when neg is set.
type filterNode struct {
	kind filterKind
	neg  bool
	kids []*filterNode // kindAnd, kindOr
	f    string        // the operand folded (see foldString)
	set  map[string]struct{}
	re   *regexp.Regexp
}

// compileEmailFilter compiles a tree that ParseEmailFilter accepted.
func compileEmailFilter(t *store.Filter) *filterNode {
	switch {
	case t.Or != nil || t.And != nil:
		kind, group := kindAnd, t.And
		if t.Or != nil {
			kind, group = kindOr, t.Or
		}
		kids := make([]*filterNode, len(group))
		for i, k := range group {
			kids[i] = compileEmailFilter(k)
		}
		return newFilterGroup(kind, kids)
	}
	n := &filterNode{f: foldString(t.Value)}
	switch t.Op {
	case store.OpNeq, store.OpNContains, store.OpNIContains, store.OpNStartsWith, store.OpNIStartsWith,
		store.OpNEndsWith, store.OpNIEndsWith, store.OpNin, store.OpNNull, store.OpNEmpty:
		n.neg = true
	}
	switch t.Op {
	case store.OpEq, store.OpNeq:
		n.kind = kindEq
	case store.OpContains, store.OpNContains, store.OpIContains, store.OpNIContains:
		n.kind = kindContains
	case store.OpStartsWith, store.OpNStartsWith, store.OpIStartsWith, store.OpNIStartsWith:
		n.kind = kindStartsWith
	case store.OpEndsWith, store.OpNEndsWith, store.OpIEndsWith, store.OpNIEndsWith:
		n.kind = kindEndsWith
	case store.OpIn, store.OpNin:
		n.kind, n.set = kindIn, make(map[string]struct{}, len(t.Values))
		for _, v := range t.Values {
			n.set[foldString(v)] = struct{}{}
		}
	case store.OpRegex:
		n.kind = kindRegex
		n.re, _ = compileFilterRegex(t.Value) // the parser compiled it once already
	default: // _null, _nnull, _empty, _nempty: a field without a value is null and empty
		n.kind = kindEmpty
	}
	return n
}

// newFilterGroup builds an _and or _or node: nested groups of the same kind
// are flattened, large families of set-like siblings are merged into one
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

// setFamily is the set lookup a rule can join among the children of a
// group whose members have negation neg: kindIn for _eq and _in, kindDomainSet
// for _ends_with "@domain", kindSuffixSet for _ends_with "suffix" (no '@');
// kindAnd for none.
func setFamily(k *filterNode, neg bool) filterKind {
	switch {
	case k.neg != neg:
	case k.kind == kindEq || k.kind == kindIn:
		return kindIn
	case k.kind == kindEndsWith && strings.LastIndexByte(k.f, '@') == 0:
		return kindDomainSet
	case k.kind == kindEndsWith && strings.IndexByte(k.f, '@') < 0:
		return kindSuffixSet
	}
	return kindAnd
}

// mergeFilterSets replaces, among the children of an _or, many positive
// _eq/_in by one _in, many _ends_with "@domain" by one domain set, and many
// _ends_with "suffix" (no '@') by one suffix set; and among the children of
// an _and, the negated forms likewise (not a and not b = not (a or b)).
func mergeFilterSets(kind filterKind, kids []*filterNode) []*filterNode {
	neg := kind == kindAnd
	var count [kindRegex + 1]int
	keys := 0
	for _, k := range kids {
		fam := setFamily(k, neg)
		count[fam]++
		switch {
		case fam == kindIn && k.kind == kindIn:
			keys += len(k.set)
		case fam == kindIn:
			keys++
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
		fam := setFamily(k, neg)
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
		case fam == kindDomainSet:
			m.set[k.f[1:]] = struct{}{}
		default: // kindEq, kindSuffixSet
			m.set[k.f] = struct{}{}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Evaluation

// filterInput is an email prepared for evaluation.
type filterInput struct {
	s      string
	domain string // after the last '@'; s when there is none
	at     bool
	folded bool // s is ASCII without upper case: it is its own fold
}

func newFilterInput(s string) filterInput {
	e := filterInput{s: s, domain: s, folded: true}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		e.domain, e.at = s[i+1:], true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
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
	case kindEmpty:
		r = e.s == ""
	case kindEq:
		r = e.folded && e.s == n.f || !e.folded && foldedEqual(e.s, n.f)
	case kindContains:
		r = e.folded && strings.Contains(e.s, n.f) || !e.folded && foldedContains(e.s, n.f)
	case kindStartsWith:
		r = e.folded && strings.HasPrefix(e.s, n.f) || !e.folded && foldedHasPrefix(e.s, n.f)
	case kindEndsWith:
		r = e.folded && strings.HasSuffix(e.s, n.f) || !e.folded && foldedHasSuffix(e.s, n.f)
	case kindIn:
		r = n.inSet(e.s, e.folded)
	case kindDomainSet:
		r = e.at && n.inSet(e.domain, e.folded)
	case kindSuffixSet:
		r = n.suffixInSet(e)
	case kindRegex:
		r = n.re.MatchString(e.lower())
	}
	return r != n.neg
}

// filterKeyBuf is the stack buffer in which a key is folded; longer emails
// (beyond the 254 bytes an address may have) cost an allocation.
const filterKeyBuf = 256

// inSet reports whether the fold of s is in the set; folded says s is its
// own fold.
func (n *filterNode) inSet(s string, folded bool) bool {
	if len(n.set) == 0 {
		return false
	}
	if folded {
		_, ok := n.set[s]
		return ok
	}
	var buf [filterKeyBuf]byte
	_, ok := n.set[string(appendFold(buf[:0], s))]
	return ok
}

func (n *filterNode) suffixInSet(e *filterInput) bool {
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

// lower is the email lower-cased, as NormalizeEmail makes it.
func (e *filterInput) lower() string {
	if e.folded {
		return e.s
	}
	return strings.ToLower(e.s)
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
