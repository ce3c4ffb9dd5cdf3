package users

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gousers/users/internal/echo"
	"github.com/gousers/users/store"
)

// Limits on a user query, so that a hostile or mistaken request cannot make
// parsing or the store's query expensive. They are those of the email
// filter (see Filter).
const (
	// maxUserFilterDepth is how many _and/_or levels may be nested.
	maxUserFilterDepth = 32
	// maxUserFilterNodes bounds filter objects + operators + _in/_nin items.
	maxUserFilterNodes = 10000
	// maxUserFilterBytes bounds the size of a filter document.
	maxUserFilterBytes = 1 << 20
	// maxSearchBytes bounds UserQuery.Search: longer than any field it
	// searches, so nothing is lost.
	maxSearchBytes = 1024
)

// filterFieldNames lists the fields a user filter takes, for messages.
const filterFieldNames = "id, email, first_name, last_name, status, role"

// userFilterField reports whether f is a field a filter condition takes.
func userFilterField(f store.Field) bool {
	switch f {
	case store.FieldID, store.FieldEmail, store.FieldFirstName, store.FieldLastName, store.FieldStatus, store.FieldRole:
		return true
	}
	return false
}

// userSortField reports whether f is a field a sort key takes.
func userSortField(f store.Field) bool {
	return userFilterField(f) || f == store.FieldCreatedAt || f == store.FieldUpdatedAt
}

// stringFilterOp reports whether op compares with one string (Value).
func stringFilterOp(op store.Op) bool {
	switch op {
	case store.OpEq, store.OpNeq, store.OpContains, store.OpNContains, store.OpIContains, store.OpNIContains,
		store.OpStartsWith, store.OpNStartsWith, store.OpIStartsWith, store.OpNIStartsWith,
		store.OpEndsWith, store.OpNEndsWith, store.OpIEndsWith, store.OpNIEndsWith:
		return true
	}
	return false
}

// nullFilterOp reports whether op takes no operand (_null, _nnull, _empty,
// _nempty).
func nullFilterOp(op store.Op) bool {
	switch op {
	case store.OpNull, store.OpNNull, store.OpEmpty, store.OpNEmpty:
		return true
	}
	return false
}

// unsupportedFilterOps are Directus operators this library does not run on
// user fields; they get their own message rather than "unknown operator".
var unsupportedFilterOps = []string{
	"_gt", "_gte", "_lt", "_lte", "_between", "_nbetween", "_regex", "_ieq", "_nieq",
	"_some", "_none", "_json", "_intersects", "_nintersects", "_intersects_bbox", "_nintersects_bbox",
}

// queryErrorf builds the *ValidationError of a bad query part; path locates
// the fault ("filter._and[1].email._in[3]") and starts the message.
func queryErrorf(field, path, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: path + ": " + fmt.Sprintf(format, args...), Err: ErrInvalidQuery, whole: true}
}

// ParseUserFilter parses a filter in Directus's JSON syntax — the filter
// query parameter of GET /users — into the [store.Filter] a store runs. It
// returns (nil, nil) for null and for {} (no filter: every user).
//
// A filter is an object whose keys must all hold:
//
//   - a field — id, email, first_name, last_name, status, role — whose value
//     is an object of operators, all of which must hold, or a plain string
//     (shorthand for _eq);
//   - "_and": a non-empty array of filters, all of which must hold;
//   - "_or": a non-empty array of filters, one of which must hold.
//
// Operators, as Directus names them: _eq _neq _contains _ncontains
// _icontains _nicontains _starts_with _nstarts_with _istarts_with
// _nistarts_with _ends_with _nends_with _iends_with _niends_with take a
// non-empty string (the _i ones compare case-insensitively, the others
// byte for byte); _in and _nin take a non-empty array of non-empty strings,
// or one comma-separated string; _null _nnull _empty _nempty take true or
// false (or the strings "true" and "false", as a query string spells
// them), and false negates them (_null: false is _nnull: true). As Directus
// does, _eq and _neq also take null (or the string "null" or "NULL"),
// meaning _null and _nnull. A field's operator object may itself hold
// "_and" or "_or" with an array of operator objects
// ({"email":{"_or":[{"_ends_with":"@a.com"},{"_ends_with":"@b.com"}]}}).
// A field without a value (a null role, an empty name) fails every
// positive comparison and passes every negative one.
//
// Every error is a *ValidationError for the field "filter" that matches
// ErrInvalidQuery, with a message that locates the fault
// (`filter._and[1].email: unknown operator "_foo"`): invalid JSON, a
// duplicate key, an unknown field or operator, a Directus operator this
// library does not run on users (_gt, _regex, _between…, named as such), a
// filter on a related collection (role.name), a value of the wrong type, an
// empty string (use _empty), a dynamic variable ($CURRENT_USER, $NOW), an
// empty object or array, more than 32 nested levels of _and/_or, more than
// 10,000 nodes (filter objects, operators and _in/_nin items), or a
// document over 1 MiB.
func ParseUserFilter(doc []byte) (*store.Filter, error) {
	const path = "filter"
	if len(doc) > maxUserFilterBytes {
		return nil, queryErrorf("filter", path, "document is larger than %d bytes", maxUserFilterBytes)
	}
	if !utf8.Valid(doc) {
		return nil, queryErrorf("filter", path, "document is not valid UTF-8")
	}
	p := &userFilterParser{doc: doc, dec: json.NewDecoder(bytes.NewReader(doc))}
	p.dec.UseNumber()
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	var f *store.Filter
	switch tok {
	case nil:
	case json.Delim('{'):
		if f, err = p.object(path, 0); err != nil {
			return nil, err
		}
	default:
		return nil, queryErrorf("filter", path, "want a JSON object, got %s", describeOperand(tok))
	}
	if tok, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, p.jsonError(err)
		}
		return nil, queryErrorf("filter", path, "invalid JSON: %s after the filter object", describeOperand(tok))
	}
	return f, nil
}

// userFilterParser compiles a document from a json.Decoder's token stream,
// so that a value of the wrong type is refused before it is read, and
// nesting is bounded by the filter grammar rather than by the JSON.
type userFilterParser struct {
	doc   []byte
	dec   *json.Decoder
	nodes int
}

func (p *userFilterParser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.jsonError(err)
	}
	return tok, nil
}

// jsonError describes a json.Decoder error; the document is checked whole
// again to say where a syntax error is (token-mode offsets are not exact).
func (p *userFilterParser) jsonError(err error) error {
	if verr := json.Unmarshal(p.doc, new(json.RawMessage)); verr != nil {
		err = verr
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return queryErrorf("filter", "filter", "invalid JSON at byte %d: %v", se.Offset, se)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return queryErrorf("filter", "filter", "invalid JSON: unexpected end of input")
	}
	return queryErrorf("filter", "filter", "invalid JSON: %v", err)
}

// count adds a node and fails past the limit.
func (p *userFilterParser) count(path string) error {
	p.nodes++
	if p.nodes > maxUserFilterNodes {
		return queryErrorf("filter", path, "filter is too large: more than %d nodes (filter objects, operators and _in/_nin items)", maxUserFilterNodes)
	}
	return nil
}

// key reads an object key and refuses a duplicate.
func (p *userFilterParser) key(path string, seen *[]string) (string, error) {
	tok, err := p.token()
	if err != nil {
		return "", err
	}
	k, _ := tok.(string) // object keys are always strings
	if slices.Contains(*seen, k) {
		return "", queryErrorf("filter", path, "duplicate key %q", echo.Cut(k))
	}
	*seen = append(*seen, k)
	return k, nil
}

// allOf combines the conditions of one object.
func allOf(kids []*store.Filter) *store.Filter {
	if len(kids) == 1 {
		return kids[0]
	}
	return &store.Filter{And: kids}
}

// object compiles a filter object whose '{' has been read. The top-level
// empty object is no filter (nil); a nested one is an error.
func (p *userFilterParser) object(path string, depth int) (*store.Filter, error) {
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
		kpath := path + "." + echo.Cut(k)
		var n *store.Filter
		switch {
		case k == "_and" || k == "_or":
			n, err = p.group(kpath, k, depth+1, func(ipath string) (*store.Filter, error) {
				tok, err := p.token()
				if err != nil {
					return nil, err
				}
				if tok != json.Delim('{') {
					return nil, queryErrorf("filter", ipath, "want a filter object, got %s", describeOperand(tok))
				}
				return p.object(ipath, depth+1)
			})
		case userFilterField(store.Field(k)):
			n, err = p.field(kpath, store.Field(k), depth)
		case strings.HasPrefix(k, "_"):
			return nil, queryErrorf("filter", path, "operator %q needs a field: write {\"<field>\": {%q: …}} with a field among %s", echo.Cut(k), echo.Cut(k), filterFieldNames)
		default:
			return nil, queryErrorf("filter", path, "unknown field %q (filters take %s, _and and _or)", echo.Cut(k), filterFieldNames)
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
		if depth == 0 && path == "filter" {
			return nil, nil
		}
		return nil, queryErrorf("filter", path, "empty filter object {}: give at least one condition")
	}
	return allOf(kids), nil
}

// group compiles the array of an _and or _or; elem compiles one item.
func (p *userFilterParser) group(path, op string, depth int, elem func(ipath string) (*store.Filter, error)) (*store.Filter, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, queryErrorf("filter", path, "want an array, got %s", describeOperand(tok))
	}
	if depth > maxUserFilterDepth {
		return nil, queryErrorf("filter", path, "nested too deeply: more than %d levels of _and/_or", maxUserFilterDepth)
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
		return nil, queryErrorf("filter", path, "empty array: %s needs at least one item", op)
	case len(kids) == 1:
		return kids[0], nil
	case op == "_or":
		return &store.Filter{Or: kids}, nil
	}
	return &store.Filter{And: kids}, nil
}

// field compiles the value of a field key: an operator object, or a
// string or null (shorthand for _eq).
func (p *userFilterParser) field(path string, f store.Field, depth int) (*store.Filter, error) {
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
		return stringCondition(path, f, store.OpEq, tok)
	}
	return nil, queryErrorf("filter", path, "want an object of operators (or a string, meaning _eq), got %s", describeOperand(tok))
}

// operators compiles the operator object of field f, whose '{' has been
// read.
func (p *userFilterParser) operators(path string, f store.Field, depth int) (*store.Filter, error) {
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
		opath := path + "." + echo.Cut(k)
		if err := p.count(opath); err != nil {
			return nil, err
		}
		op := store.Op(k)
		var n *store.Filter
		switch {
		case k == "_and" || k == "_or":
			n, err = p.group(opath, k, depth+1, func(ipath string) (*store.Filter, error) {
				tok, err := p.token()
				if err != nil {
					return nil, err
				}
				if tok != json.Delim('{') {
					return nil, queryErrorf("filter", ipath, "want an object of operators, got %s", describeOperand(tok))
				}
				return p.operators(ipath, f, depth+1)
			})
		case stringFilterOp(op):
			var tok json.Token
			if tok, err = p.token(); err == nil {
				n, err = stringCondition(opath, f, op, tok)
			}
		case op == store.OpIn || op == store.OpNin:
			var vals []string
			if vals, err = p.list(opath); err == nil {
				n = &store.Filter{Field: f, Op: op, Values: vals}
			}
		case nullFilterOp(op):
			var b bool
			if b, err = p.boolean(opath); err == nil {
				n = nullCondition(f, op, b)
			}
		case slices.Contains(unsupportedFilterOps, k):
			return nil, queryErrorf("filter", path, "operator %s is not supported on users (supported: _eq _neq _contains _ncontains _icontains _nicontains _starts_with _nstarts_with _istarts_with _nistarts_with _ends_with _nends_with _iends_with _niends_with _in _nin _null _nnull _empty _nempty)", k)
		case !strings.HasPrefix(k, "_"):
			return nil, queryErrorf("filter", path, "%q is not an operator: filters on related collections (%s.%s) are not supported", echo.Cut(k), f, echo.Cut(k))
		default:
			return nil, queryErrorf("filter", path, "unknown operator %q", echo.Cut(k))
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
		return nil, queryErrorf("filter", path, "empty condition {}: give at least one operator")
	}
	return allOf(kids), nil
}

// stringCondition builds the condition of a string operator from its
// operand token. null (or "null", "NULL", as Directus reads them) is only
// for _eq and _neq, which then mean _null and _nnull.
func stringCondition(path string, f store.Field, op store.Op, tok json.Token) (*store.Filter, error) {
	s, isString := tok.(string)
	isNull := tok == nil || isString && (s == "null" || s == "NULL")
	switch {
	case isNull && op == store.OpEq:
		return &store.Filter{Field: f, Op: store.OpNull}, nil
	case isNull && op == store.OpNeq:
		return &store.Filter{Field: f, Op: store.OpNNull}, nil
	case !isString:
		return nil, queryErrorf("filter", path, "want a string, got %s", describeOperand(tok))
	}
	if err := checkOperand(path, s); err != nil {
		return nil, err
	}
	return &store.Filter{Field: f, Op: op, Value: s}, nil
}

// checkOperand refuses what Directus would read differently: an empty
// string, and a dynamic variable.
func checkOperand(path, s string) error {
	if s == "" {
		return queryErrorf("filter", path, "can't filter for an empty string: use _empty or _nempty")
	}
	if strings.HasPrefix(s, "$CURRENT_") || strings.HasPrefix(s, "$NOW") {
		return queryErrorf("filter", path, "dynamic variables ($CURRENT_USER, $NOW…) are not supported")
	}
	return nil
}

// describeOperand names a token's JSON type for an error message, without
// its value (a filter's operands are the caller's data, not ours to echo).
func describeOperand(tok json.Token) string {
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

// nullCondition builds _null/_nnull/_empty/_nempty with its boolean
// honoured: false negates.
func nullCondition(f store.Field, op store.Op, b bool) *store.Filter {
	if !b {
		op = map[store.Op]store.Op{store.OpNull: store.OpNNull, store.OpNNull: store.OpNull, store.OpEmpty: store.OpNEmpty, store.OpNEmpty: store.OpEmpty}[op]
	}
	return &store.Filter{Field: f, Op: op}
}

// list reads the operand of _in/_nin: a non-empty array of strings, or a
// comma-separated string (items trimmed, empty ones dropped).
func (p *userFilterParser) list(path string) ([]string, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	var (
		items []string
		ok    bool
	)
	switch v := tok.(type) {
	case string:
		ok = true
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				ipath := path + "[" + strconv.Itoa(len(items)) + "]"
				if err := p.count(ipath); err != nil {
					return nil, err
				}
				if err := checkOperand(ipath, item); err != nil {
					return nil, err
				}
				items = append(items, item)
			}
		}
	case json.Delim:
		if v != '[' {
			break
		}
		ok = true
		for i := 0; p.dec.More(); i++ {
			ipath := path + "[" + strconv.Itoa(i) + "]"
			if err := p.count(ipath); err != nil {
				return nil, err
			}
			tok, err := p.token()
			if err != nil {
				return nil, err
			}
			s, ok := tok.(string)
			if !ok {
				return nil, queryErrorf("filter", ipath, "want a string, got %s", describeOperand(tok))
			}
			if err := checkOperand(ipath, s); err != nil {
				return nil, err
			}
			items = append(items, s)
		}
		if _, err := p.token(); err != nil { // ']'
			return nil, err
		}
	}
	if !ok {
		return nil, queryErrorf("filter", path, "want an array of strings or a comma-separated string, got %s", describeOperand(tok))
	}
	if len(items) == 0 {
		return nil, queryErrorf("filter", path, "needs at least one value")
	}
	return items, nil
}

// boolean reads true, false, "true" or "false".
func (p *userFilterParser) boolean(path string) (bool, error) {
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
	return false, queryErrorf("filter", path, "want true or false, got %s", describeOperand(tok))
}

// validateUserQuery checks a UserQuery before it reaches the Store, so
// that a query built by hand gets the same clear errors as a parsed one.
func validateUserQuery(q store.UserQuery) error {
	if q.Limit < 0 {
		return queryErrorf("limit", "limit", "must not be negative")
	}
	if q.Offset < 0 {
		return queryErrorf("offset", "offset", "must not be negative")
	}
	if len(q.Search) > maxSearchBytes {
		return queryErrorf("search", "search", "must be at most %d bytes", maxSearchBytes)
	}
	if !utf8.ValidString(q.Search) || strings.ContainsRune(q.Search, 0) {
		return queryErrorf("search", "search", "must be valid UTF-8 without NUL characters")
	}
	for i, s := range q.Sort {
		if !userSortField(s.Field) {
			return queryErrorf("sort", "sort["+strconv.Itoa(i)+"]", "unknown field %q (sorts take %s, created_at, updated_at)", echo.Cut(string(s.Field)), filterFieldNames)
		}
	}
	if q.Filter != nil {
		nodes := 0
		return validateUserFilter(q.Filter, "filter", 0, &nodes)
	}
	return nil
}

// validateUserFilter checks the shape of a filter node and its
// children, under the parser's limits.
func validateUserFilter(f *store.Filter, path string, depth int, nodes *int) error {
	if f == nil {
		return queryErrorf("filter", path, "nil filter node")
	}
	*nodes++
	if *nodes > maxUserFilterNodes {
		return queryErrorf("filter", path, "filter is too large: more than %d nodes", maxUserFilterNodes)
	}
	set := 0
	for _, b := range []bool{f.And != nil, f.Or != nil, f.Field != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		return queryErrorf("filter", path, "a node needs exactly one of And, Or and Field")
	}
	if f.And != nil || f.Or != nil {
		if f.Op != "" || f.Value != "" || f.Values != nil {
			return queryErrorf("filter", path, "a group has no Op, Value or Values")
		}
		if depth+1 > maxUserFilterDepth {
			return queryErrorf("filter", path, "nested too deeply: more than %d levels of _and/_or", maxUserFilterDepth)
		}
		kids, name := f.And, "_and"
		if f.Or != nil {
			kids, name = f.Or, "_or"
		}
		for i, k := range kids {
			if err := validateUserFilter(k, path+"."+name+"["+strconv.Itoa(i)+"]", depth+1, nodes); err != nil {
				return err
			}
		}
		return nil
	}
	path += "." + echo.Cut(string(f.Field))
	for _, v := range append([]string{f.Value}, f.Values...) {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			// No stored field holds one (the Manager refuses them), and some
			// databases cannot even compare with one.
			return queryErrorf("filter", path, "values must be valid UTF-8 without NUL characters")
		}
	}
	if !userFilterField(f.Field) {
		return queryErrorf("filter", path, "unknown field %q (filters take %s)", echo.Cut(string(f.Field)), filterFieldNames)
	}
	switch {
	case stringFilterOp(f.Op):
		if f.Values != nil {
			return queryErrorf("filter", path, "%s takes Value, not Values", f.Op)
		}
	case f.Op == store.OpIn || f.Op == store.OpNin:
		if f.Value != "" {
			return queryErrorf("filter", path, "%s takes Values, not Value", f.Op)
		}
		*nodes += len(f.Values)
		if *nodes > maxUserFilterNodes {
			return queryErrorf("filter", path, "filter is too large: more than %d nodes", maxUserFilterNodes)
		}
	case nullFilterOp(f.Op):
		if f.Value != "" || f.Values != nil {
			return queryErrorf("filter", path, "%s takes no operand", f.Op)
		}
	default:
		return queryErrorf("filter", path, "unknown operator %q", echo.Cut(string(f.Op)))
	}
	return nil
}
