package users

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gousers/users/internal/echo"
	"github.com/gousers/users/store"
)

// This file holds the one parser of Directus's filter syntax. Every filter
// the package takes — a listing's (ParseFilter) and the registration email
// filter (ParseEmailFilter) — is read by it into one tree, a *store.Filter,
// under a schema that says which fields the document may name and which
// operators each takes. The grammar is the same for every schema: a
// document is accepted or refused alike wherever filters are accepted, and
// only a field the schema lacks is refused by one and not by another.

// Limits on a filter document, so that a hostile or mistaken document
// cannot make parsing, evaluation or a store's query expensive.
const (
	// maxFilterDepth is how many _and/_or levels may be nested.
	maxFilterDepth = 32
	// maxFilterNodes bounds objects + operators + _in/_nin items.
	maxFilterNodes = 10000
	// maxFilterBytes bounds the size of the document.
	maxFilterBytes = 1 << 20
)

// filterField is a field a filter may name and the operators it takes, in
// the order messages list them. A field of another kind (a timestamp)
// will take other operators.
type filterField struct {
	name store.Field
	ops  []store.Op
}

// filterSchema is the fields a filter may name.
type filterSchema []filterField

// textOps are the operators of a text field.
var textOps = []store.Op{
	store.OpEq, store.OpNeq, store.OpContains, store.OpNContains, store.OpIContains, store.OpNIContains,
	store.OpStartsWith, store.OpNStartsWith, store.OpIStartsWith, store.OpNIStartsWith,
	store.OpEndsWith, store.OpNEndsWith, store.OpIEndsWith, store.OpNIEndsWith,
	store.OpIn, store.OpNin, store.OpNull, store.OpNNull, store.OpEmpty, store.OpNEmpty, store.OpRegex,
}

var (
	// userFilterSchema is what a listing's filter takes (ParseFilter).
	userFilterSchema = filterSchema{
		{store.FieldID, textOps}, {store.FieldEmail, textOps}, {store.FieldFirstName, textOps},
		{store.FieldLastName, textOps}, {store.FieldStatus, textOps}, {store.FieldRole, textOps},
	}
	// emailFilterSchema is what the registration email filter takes
	// (ParseEmailFilter).
	emailFilterSchema = filterSchema{{store.FieldEmail, textOps}}
	// roleFilterSchema is what a listing of roles takes (RoleQuery.Filter).
	roleFilterSchema = filterSchema{{store.FieldID, textOps}, {roleFieldName, textOps}, {roleFieldDescription, textOps}}
)

// The fields of a role a filter or a sort names besides id. They are never
// handed to a Store: roles are filtered by the Manager (see FindRoles).
const (
	roleFieldName        store.Field = "name"
	roleFieldDescription store.Field = "description"
	roleFieldAdminAccess store.Field = "admin_access"
)

// field returns the field named name.
func (s filterSchema) field(name string) (*filterField, bool) {
	for i := range s {
		if string(s[i].name) == name {
			return &s[i], true
		}
	}
	return nil, false
}

// names lists the fields for a message.
func (s filterSchema) names() string {
	names := make([]string, len(s))
	for i, f := range s {
		names[i] = string(f.name)
	}
	return strings.Join(names, ", ")
}

// operandKind is what an operator takes.
type operandKind uint8

const (
	operandString operandKind = iota // one non-empty string
	operandList                      // strings: an array, or one comma-separated string
	operandBool                      // true or false (or "true", "false")
	operandRegex                     // a regular expression
)

// filterOperands maps every operator the grammar knows to its operand.
var filterOperands = map[store.Op]operandKind{
	store.OpEq: operandString, store.OpNeq: operandString,
	store.OpContains: operandString, store.OpNContains: operandString,
	store.OpIContains: operandString, store.OpNIContains: operandString,
	store.OpStartsWith: operandString, store.OpNStartsWith: operandString,
	store.OpIStartsWith: operandString, store.OpNIStartsWith: operandString,
	store.OpEndsWith: operandString, store.OpNEndsWith: operandString,
	store.OpIEndsWith: operandString, store.OpNIEndsWith: operandString,
	store.OpIn: operandList, store.OpNin: operandList,
	store.OpNull: operandBool, store.OpNNull: operandBool, store.OpEmpty: operandBool, store.OpNEmpty: operandBool,
	store.OpRegex: operandRegex,
}

// directusOnlyOps are Directus operators no field here takes; they are
// named as such rather than as unknown.
var directusOnlyOps = []string{
	"_gt", "_gte", "_lt", "_lte", "_between", "_nbetween", "_ieq", "_nieq", "_some", "_none", "_json",
	"_intersects", "_nintersects", "_intersects_bbox", "_nintersects_bbox", "_submitted",
}

// negatedOp is the operator that holds where op does not, for the
// operators whose boolean operand can negate them.
var negatedOp = map[store.Op]store.Op{
	store.OpNull: store.OpNNull, store.OpNNull: store.OpNull, store.OpEmpty: store.OpNEmpty, store.OpNEmpty: store.OpEmpty,
}

// Filter is a parsed filter over user fields, as [ParseFilter] returns it,
// for [UserQuery]. It keeps its JSON document: MarshalJSON and String
// return it. It is immutable (except through UnmarshalJSON) and safe for
// concurrent use. A nil or zero Filter is no filter (every user) and
// marshals as null.
type Filter struct {
	doc  []byte        // the compacted document; nil for no filter
	tree *store.Filter // nil for no filter
}

// ParseFilter parses a filter in Directus's JSON syntax — the filter query
// parameter of GET /users — for [Manager.ListUsers] and
// [Manager.CountUsers]. It returns nil for null, and a Filter that holds
// for every user for {}.
//
// A filter is an object whose keys must all hold:
//
//   - a field — id, email, first_name, last_name, status, role — whose value
//     is an object of operators, all of which must hold, or a string or
//     null (shorthand for _eq);
//   - "_and": a non-empty array of filters, all of which must hold;
//   - "_or": a non-empty array of filters, one of which must hold.
//
// Operators, as Directus names them: _eq _neq _contains _ncontains
// _icontains _nicontains _starts_with _nstarts_with _istarts_with
// _nistarts_with _ends_with _nends_with _iends_with _niends_with take a
// non-empty string (the _i ones compare case-insensitively, the others byte
// for byte); _in and _nin take an array of non-empty strings, or one
// comma-separated string (items trimmed, empty ones dropped) — _in: []
// holds for nobody, _nin: [] for everybody; _null _nnull _empty _nempty
// take true or false (or the strings "true" and "false", as a query string
// spells them), and false negates them (_null: false is _nnull: true);
// _regex takes a regular expression (see [ParseEmailFilter]). As Directus does,
// _eq and _neq also take null (or the string "null" or "NULL"), meaning
// _null and _nnull. A field's operator object may itself hold "_and" or
// "_or" with an array of operator objects
// ({"email":{"_or":[{"_ends_with":"@a.com"},{"_ends_with":"@b.com"}]}}).
// A field without a value (a null role, an empty name) is null and empty:
// it fails every positive comparison and passes every negative one.
//
// Listing users does not run _regex: ListUsers and CountUsers refuse a
// filter that uses it (users are selected by the store's query, and each
// database has its own regular expressions). ParseFilter still accepts it,
// so that a document is accepted or refused alike here and by
// [ParseEmailFilter].
//
// Every error is a [*ValidationError] for the field "filter" that matches
// [ErrInvalidQuery], with a reason that locates the fault
// (`_and[1].email: unknown operator "_foo"`) and never repeats an
// operand: invalid JSON, a duplicate key, an unknown field or operator, a
// Directus operator this library does not run (_gt, _between…, named as
// such), a filter on a related collection (role.name), a value of the
// wrong type, an empty string (use _empty), a NUL character, a dynamic
// variable ($CURRENT_USER, $NOW), a regular expression that does not
// compile, an empty object or array below the top level, more than 32
// nested levels of _and/_or, more than 10,000 nodes (objects, operators and
// _in/_nin items), or a document over 1 MiB. [ParseEmailFilter] refuses
// the same documents with the same reasons, and also any field but email.
func ParseFilter(doc []byte) (*Filter, error) {
	tree, compact, err := parseFilter(doc, userFilterSchema)
	if err != nil {
		return nil, &ValidationError{Field: "filter", Reason: err.Error(), Err: ErrInvalidQuery}
	}
	if compact == nil {
		return nil, nil
	}
	return &Filter{doc: compact, tree: tree}, nil
}

// MarshalJSON returns the document given to ParseFilter, with
// insignificant white space removed, or null for a nil or zero Filter.
func (f *Filter) MarshalJSON() ([]byte, error) {
	if f == nil {
		return filterDocJSON(nil), nil
	}
	return filterDocJSON(f.doc), nil
}

// UnmarshalJSON sets f to ParseFilter(b); JSON null sets it to the zero
// Filter. On error f is unchanged.
func (f *Filter) UnmarshalJSON(b []byte) error { return unmarshalFilter(f, b, ParseFilter) }

// String returns the filter's JSON document, as MarshalJSON does.
func (f *Filter) String() string {
	b, _ := f.MarshalJSON()
	return string(b)
}

// storeFilter is the tree a Store evaluates: nil for no filter.
func (f *Filter) storeFilter() *store.Filter {
	if f == nil {
		return nil
	}
	return f.tree
}

// unmarshalFilter sets *dst to parse(b), or to the zero filter when b is
// null; on error *dst is unchanged.
func unmarshalFilter[T any](dst *T, b []byte, parse func([]byte) (*T, error)) error {
	f, err := parse(b)
	if err != nil {
		return err
	}
	if f == nil {
		f = new(T)
	}
	*dst = *f
	return nil
}

// filterDocJSON is the JSON of a filter's document: a copy, or null.
func filterDocJSON(doc []byte) []byte {
	if doc == nil {
		return []byte("null")
	}
	return bytes.Clone(doc)
}

// filterError is the reason a document is refused; the exported parsers
// wrap it in the *ValidationError of their field.
type filterError string

func (e filterError) Error() string { return string(e) }

// filterErrorf builds a filterError; path locates the fault ("" for the
// document itself) and starts the reason.
func filterErrorf(path, format string, args ...any) error {
	reason := fmt.Sprintf(format, args...)
	if path != "" {
		reason = path + ": " + reason
	}
	return filterError(reason)
}

// parseFilter parses doc under schema. It returns the tree (nil when every
// user holds: null or {}) and the compacted document (nil for null).
func parseFilter(doc []byte, schema filterSchema) (*store.Filter, []byte, error) {
	if len(doc) > maxFilterBytes {
		return nil, nil, filterErrorf("", "document is larger than %d bytes", maxFilterBytes)
	}
	if !utf8.Valid(doc) {
		return nil, nil, filterErrorf("", "document is not valid UTF-8")
	}
	p := &filterParser{schema: schema, doc: doc, dec: json.NewDecoder(bytes.NewReader(doc))}
	p.dec.UseNumber()
	tok, err := p.token()
	if err != nil {
		return nil, nil, err
	}
	var tree *store.Filter
	switch tok {
	case nil:
	case json.Delim('{'):
		if tree, err = p.object("", 0); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, filterErrorf("", "want a JSON object, got %s", describeToken(tok))
	}
	if tok, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, p.jsonError(err)
		}
		return nil, nil, filterErrorf("", "invalid JSON: %s after the filter object", describeToken(tok))
	}
	if tok == nil {
		return nil, nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil { // the decoder has read it all: cannot fail
		return nil, nil, filterErrorf("", "invalid JSON: %v", err)
	}
	return tree, buf.Bytes(), nil
}

// filterParser reads a document from a json.Decoder's token stream, so
// that a value of the wrong type is refused before it is read, and nesting
// is bounded by the filter grammar rather than by the JSON.
type filterParser struct {
	schema filterSchema
	doc    []byte
	dec    *json.Decoder
	nodes  int
}

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

// count adds a node and fails past the limit.
func (p *filterParser) count(path string) error {
	p.nodes++
	if p.nodes > maxFilterNodes {
		return filterErrorf(path, "filter is too large: more than %d nodes (objects, operators and _in/_nin items)", maxFilterNodes)
	}
	return nil
}

// key reads an object key and refuses a duplicate.
func (p *filterParser) key(path string, seen *[]string) (string, error) {
	tok, err := p.token()
	if err != nil {
		return "", err
	}
	k, _ := tok.(string) // object keys are always strings
	if slices.Contains(*seen, k) {
		return "", filterErrorf(path, "duplicate key %q", echo.Cut(k))
	}
	*seen = append(*seen, k)
	return k, nil
}

// join extends a path with a key.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// allOf combines the conditions of one object.
func allOf(kids []*store.Filter) *store.Filter {
	if len(kids) == 1 {
		return kids[0]
	}
	return &store.Filter{And: kids}
}

// object reads a filter object whose '{' has been read. The top-level
// empty object is no filter (nil); a nested one is an error.
func (p *filterParser) object(path string, depth int) (*store.Filter, error) {
	if err := p.count(path); err != nil {
		return nil, err
	}
	var (
		kids []*store.Filter
		seen []string
	)
	for p.dec.More() {
		k, err := p.key(path, &seen)
		if err != nil {
			return nil, err
		}
		var n *store.Filter
		if k == "_and" || k == "_or" {
			n, err = p.group(join(path, k), k, depth+1, func(ipath string) (*store.Filter, error) {
				tok, err := p.token()
				if err != nil {
					return nil, err
				}
				if tok != json.Delim('{') {
					return nil, filterErrorf(ipath, "want a filter object, got %s", describeToken(tok))
				}
				return p.object(ipath, depth+1)
			})
		} else if f, ok := p.schema.field(k); ok {
			n, err = p.field(join(path, k), f, depth)
		} else if strings.HasPrefix(k, "_") {
			return nil, filterErrorf(path, "operator %q needs a field: write {\"<field>\": {%q: …}} with a field among %s", echo.Cut(k), echo.Cut(k), p.schema.names())
		} else {
			return nil, filterErrorf(path, "unknown field %q (filters take %s, _and and _or)", echo.Cut(k), p.schema.names())
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
		if depth == 0 {
			return nil, nil
		}
		return nil, filterErrorf(path, "empty filter object {}: give at least one condition")
	}
	return allOf(kids), nil
}

// group reads the array of an _and or _or; elem reads one item.
func (p *filterParser) group(path, op string, depth int, elem func(ipath string) (*store.Filter, error)) (*store.Filter, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, filterErrorf(path, "want an array, got %s", describeToken(tok))
	}
	if depth > maxFilterDepth {
		return nil, filterErrorf(path, "nested too deeply: more than %d levels of _and/_or", maxFilterDepth)
	}
	var kids []*store.Filter
	for i := 0; p.dec.More(); i++ {
		n, err := elem(path + "[" + strconv.Itoa(i) + "]")
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if _, err := p.token(); err != nil { // ']'
		return nil, err
	}
	switch {
	case len(kids) == 0:
		return nil, filterErrorf(path, "empty array: %s needs at least one item", op)
	case len(kids) == 1:
		return kids[0], nil
	case op == "_or":
		return &store.Filter{Or: kids}, nil
	}
	return &store.Filter{And: kids}, nil
}

// field reads the value of a field key: an object of operators, or a
// string or null (shorthand for _eq).
func (p *filterParser) field(path string, f *filterField, depth int) (*store.Filter, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return p.operators(path, f, depth)
		}
	case string, nil:
		if err := p.count(path); err != nil {
			return nil, err
		}
		if !slices.Contains(f.ops, store.OpEq) {
			return nil, filterErrorf(path, "want an object of operators, got %s", describeToken(tok))
		}
		return stringCondition(path, f.name, store.OpEq, tok)
	}
	return nil, filterErrorf(path, "want an object of operators (or a string, meaning _eq), got %s", describeToken(tok))
}

// operators reads the operator object of field f, whose '{' has been read.
func (p *filterParser) operators(path string, f *filterField, depth int) (*store.Filter, error) {
	if err := p.count(path); err != nil {
		return nil, err
	}
	var (
		kids []*store.Filter
		seen []string
	)
	for p.dec.More() {
		k, err := p.key(path, &seen)
		if err != nil {
			return nil, err
		}
		opath := join(path, k)
		if err := p.count(opath); err != nil {
			return nil, err
		}
		op := store.Op(k)
		kind, known := filterOperands[op]
		var n *store.Filter
		switch {
		case k == "_and" || k == "_or":
			n, err = p.group(opath, k, depth+1, func(ipath string) (*store.Filter, error) {
				tok, err := p.token()
				if err != nil {
					return nil, err
				}
				if tok != json.Delim('{') {
					return nil, filterErrorf(ipath, "want an object of operators, got %s", describeToken(tok))
				}
				return p.operators(ipath, f, depth+1)
			})
		case known && slices.Contains(f.ops, op):
			n, err = p.operand(opath, f.name, op, kind)
		case known || slices.Contains(directusOnlyOps, k):
			ops := make([]string, len(f.ops))
			for i, o := range f.ops {
				ops[i] = string(o)
			}
			return nil, filterErrorf(path, "operator %s is not supported on %s (supported: %s)", k, f.name, strings.Join(ops, " "))
		case !strings.HasPrefix(k, "_"):
			return nil, filterErrorf(path, "%q is not an operator: filters on related collections (%s.%s) are not supported", echo.Cut(k), f.name, echo.Cut(k))
		default:
			return nil, filterErrorf(path, "unknown operator %q", echo.Cut(k))
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
		return nil, filterErrorf(path, "empty condition {}: give at least one operator")
	}
	return allOf(kids), nil
}

// operand reads the operand of op and returns its condition.
func (p *filterParser) operand(path string, field store.Field, op store.Op, kind operandKind) (*store.Filter, error) {
	switch kind {
	case operandList:
		vals, err := p.list(path)
		if err != nil {
			return nil, err
		}
		return &store.Filter{Field: field, Op: op, Values: vals}, nil
	case operandBool:
		b, err := p.boolean(path)
		if err != nil {
			return nil, err
		}
		if !b {
			op = negatedOp[op]
		}
		return &store.Filter{Field: field, Op: op}, nil
	}
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if kind == operandRegex {
		s, ok := tok.(string)
		if !ok {
			return nil, filterErrorf(path, "want a string, got %s", describeToken(tok))
		}
		if err := checkOperand(path, s); err != nil {
			return nil, err
		}
		if _, err := compileFilterRegex(s); err != nil {
			return nil, filterErrorf(path, "%v", err)
		}
		return &store.Filter{Field: field, Op: op, Value: s}, nil
	}
	return stringCondition(path, field, op, tok)
}

// stringCondition builds the condition of a string operator from its
// operand token. null (or "null", "NULL", as Directus reads them) is only
// for _eq and _neq, which then mean _null and _nnull.
func stringCondition(path string, field store.Field, op store.Op, tok json.Token) (*store.Filter, error) {
	s, isString := tok.(string)
	isNull := tok == nil || isString && (s == "null" || s == "NULL")
	switch {
	case isNull && op == store.OpEq:
		return &store.Filter{Field: field, Op: store.OpNull}, nil
	case isNull && op == store.OpNeq:
		return &store.Filter{Field: field, Op: store.OpNNull}, nil
	case !isString:
		return nil, filterErrorf(path, "want a string, got %s", describeToken(tok))
	}
	if err := checkOperand(path, s); err != nil {
		return nil, err
	}
	return &store.Filter{Field: field, Op: op, Value: s}, nil
}

// checkOperand refuses what no field holds or Directus would read
// differently: an empty string (a field without a value is null and empty,
// so Directus's _eq "" is _empty here), a NUL character, and a dynamic
// variable.
func checkOperand(path, s string) error {
	switch {
	case s == "":
		return filterErrorf(path, "can't filter for an empty string: use _empty or _nempty")
	case strings.IndexByte(s, 0) >= 0:
		return filterErrorf(path, "can't contain a NUL character")
	case strings.HasPrefix(s, "$CURRENT_") || strings.HasPrefix(s, "$NOW"):
		return filterErrorf(path, "dynamic variables ($CURRENT_USER, $NOW…) are not supported")
	}
	return nil
}

// list reads the operand of _in/_nin: an array of strings, or a
// comma-separated string (items trimmed, empty ones dropped). It may be
// empty.
func (p *filterParser) list(path string) ([]string, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	items := []string{}
	add := func(ipath string, s string) error {
		if err := p.count(ipath); err != nil {
			return err
		}
		if err := checkOperand(ipath, s); err != nil {
			return err
		}
		items = append(items, s)
		return nil
	}
	switch v := tok.(type) {
	case string:
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				if err := add(path+"["+strconv.Itoa(len(items))+"]", item); err != nil {
					return nil, err
				}
			}
		}
		return items, nil
	case json.Delim:
		if v != '[' {
			break
		}
		for i := 0; p.dec.More(); i++ {
			ipath := path + "[" + strconv.Itoa(i) + "]"
			tok, err := p.token()
			if err != nil {
				return nil, err
			}
			s, ok := tok.(string)
			if !ok {
				return nil, filterErrorf(ipath, "want a string, got %s", describeToken(tok))
			}
			if err := add(ipath, s); err != nil {
				return nil, err
			}
		}
		if _, err := p.token(); err != nil { // ']'
			return nil, err
		}
		return items, nil
	}
	return nil, filterErrorf(path, "want an array of strings or a comma-separated string, got %s", describeToken(tok))
}

// boolean reads true, false, "true" or "false".
func (p *filterParser) boolean(path string) (bool, error) {
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

// describeToken names a token's JSON type for an error message, without
// its value: a filter's operands are the caller's data (an address, a
// name), not ours to repeat.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// compileFilterRegex compiles a _regex operand: a plain pattern or the
// literal form "/pattern/" or "/pattern/i". The error names what is wrong,
// not the pattern.
func compileFilterRegex(v string) (*regexp.Regexp, error) {
	pattern, fold := v, false
	if last := strings.LastIndexByte(v, '/'); len(v) >= 2 && v[0] == '/' && last > 0 && isRegexFlags(v[last+1:]) {
		pattern = v[1:last]
		switch flags := v[last+1:]; flags {
		case "":
		case "i":
			fold = true
		default:
			return nil, fmt.Errorf(`unsupported flags %q: only "i" is supported`, echo.Cut(flags))
		}
	}
	expr := translateJSEscapes(pattern)
	if fold {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		reason := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			reason = string(se.Code)
			switch {
			case strings.HasPrefix(se.Expr, "(?=") || strings.HasPrefix(se.Expr, "(?!") || strings.HasPrefix(se.Expr, "(?<=") || strings.HasPrefix(se.Expr, "(?<!"):
				reason = "lookahead and lookbehind are JavaScript-only and Go's RE2 engine cannot compile them"
			case se.Code == syntax.ErrInvalidEscape && len(se.Expr) == 2 && ('1' <= se.Expr[1] && se.Expr[1] <= '9' || se.Expr[1] == 'k'):
				reason = "backreferences are JavaScript-only and Go's RE2 engine cannot compile them"
			}
		}
		return nil, fmt.Errorf("cannot compile regular expression: %s", reason)
	}
	return re, nil
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
