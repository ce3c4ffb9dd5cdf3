package httpapi

import (
	"encoding/json"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gousers/users"
)

// This file holds GET /users's query string: Directus's filter, search,
// sort, limit, offset, page, fields and meta, read as Directus reads them
// (its query parser is qs, so every list can be a comma-separated value, a
// repeated key, key[]= or key[0]=; a filter can be JSON or bracketed).

// defaultLimit is Directus's QUERY_LIMIT_DEFAULT; maxQueryInt bounds limit,
// offset and page.
const (
	defaultLimit = 100
	maxQueryInt  = 1<<31 - 1
	// maxBracketDepth bounds the brackets of one filter key: deeper than
	// any filter the parser accepts (32 levels of _and/_or).
	maxBracketDepth = 100
)

// listQuery is a listing's query string, parsed: the parameters GET
// /users and GET /roles share.
type listQuery struct {
	filter        []byte // the filter's JSON document; nil: none
	search        string
	sort          []string // the Manager judges the fields
	limit, offset int      // limit 0: no cap
	none          bool     // limit=0: no record wanted (meta may still be)
	fields        []string // nil: every field
	meta          []string // "total_count", "filter_count", in the order asked
}

// userQuery is GET /users's query, parsed.
type userQuery struct {
	q      users.UserQuery
	none   bool
	fields []string
	meta   []string
}

// roleQuery is GET /roles's query, parsed.
type roleQuery struct {
	q      users.RoleQuery
	none   bool
	fields []string
	meta   []string
}

// roleFields are the fields of a role on the wire, in their order.
var roleFields = []string{"id", "name", "description", "admin_access"}

// viewFields are the fields of a user on the wire, in their order.
var viewFields = []string{"id", "email", "password", "tfa_secret", "first_name", "last_name", "status", "role", "policies", "metadata", "created_at", "updated_at", "last_access"}

// bracketKey matches a list parameter's bracket forms: name[] and name[N].
var bracketKey = regexp.MustCompile(`^([a-z_]+)\[(\d*)\]$`)

// parseListQuery reads a listing's query string (GET /users, GET /roles):
//
//   - limit: an integer from -1 (every record) to 2^31-1; default 100;
//   - offset: from 0; page: from 0, 1-based, and with a limit it wins over
//     offset (offset = (page-1)*limit), as in Directus;
//   - search: a case-insensitive substring of the record's text fields
//     (the Manager says which); empty is no search;
//   - sort: fields, "-" before one for descending, comma-separated or as a
//     list (sort[]=);
//   - fields: the fields of each record in the answer ("*": all), among
//     fields, those of what ("users");
//   - meta: total_count, filter_count or "*" (both);
//   - filter: JSON or bracketed
//     (filter[email][_ends_with]=@example.com, filter[_or][0][role][_null]=true,
//     filter[id][_in][]=…);
//   - access_token (see BearerToken).
//
// Each may be given once (a list in any one of its forms). Anything else is
// an error for 400 INVALID_QUERY. The filter is returned as a JSON
// document, for the collection's parser (users.ParseFilter,
// users.RoleQuery's Filter).
func parseListQuery(v url.Values, what string, fields []string) (listQuery, error) {
	var (
		out                 listQuery
		limit, offset, page = defaultLimit, 0, 0
		lists               = map[string][]string{}
		listForm            = map[string]string{}
		filterJSON          *string
		brackets            []string
	)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range v {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		vals := v[k]
		once := func() (string, error) {
			if len(vals) != 1 {
				return "", badQuery("%q must be given once", k)
			}
			return vals[0], nil
		}
		num := func(min int) (int, error) {
			s, err := once()
			if err != nil {
				return 0, err
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < min || n > maxQueryInt {
				return 0, badQuery("%q must be an integer from %d to %d", k, min, maxQueryInt)
			}
			return n, nil
		}
		var err error
		switch name, m := k, bracketKey.FindStringSubmatch(k); {
		case k == "limit":
			limit, err = num(-1)
		case k == "offset":
			offset, err = num(0)
		case k == "page":
			page, err = num(0)
		case k == "search":
			out.search, err = once()
		case k == "access_token":
		case k == "filter":
			var s string
			if s, err = once(); err == nil {
				filterJSON = &s
			}
		case strings.HasPrefix(k, "filter["):
			brackets = append(brackets, k)
		case k == "sort" || k == "fields" || k == "meta" || m != nil && (m[1] == "sort" || m[1] == "fields" || m[1] == "meta"):
			if m != nil {
				name = m[1]
			}
			form := "plain"
			if m != nil && m[2] == "" {
				form = "[]"
			} else if m != nil {
				form = "[N]"
			}
			if f, ok := listForm[name]; ok && f != form {
				return out, badQuery("%q must be given in one form (%s=a,b or %s[]=a&%s[]=b)", name, name, name, name)
			}
			listForm[name] = form
			if form == "[N]" {
				if len(vals) != 1 {
					return out, badQuery("%q must be given once", k)
				}
				i, _ := strconv.Atoi(m[2])
				if m[2] != strconv.Itoa(i) || i > 1000 {
					return out, badQuery("%q: index must be an integer from 0 to 1000", k)
				}
				// Keys are sorted as strings; the index orders the items.
				lists[name] = append(lists[name], strconv.Itoa(100000+i)+"\x00"+vals[0])
			} else {
				lists[name] = append(lists[name], vals...)
			}
		default:
			return out, badQuery("unknown query parameter %q", k)
		}
		if err != nil {
			return out, err
		}
	}
	for name, items := range lists {
		if listForm[name] == "[N]" {
			slices.Sort(items)
			for i, it := range items {
				items[i] = it[strings.IndexByte(it, 0)+1:]
			}
		}
		lists[name] = splitList(items)
	}

	out.sort = lists["sort"] // the Manager judges the fields
	var err error
	if out.fields, err = parseFields(lists["fields"], what, fields); err != nil {
		return out, err
	}
	if out.meta, err = parseMeta(lists["meta"]); err != nil {
		return out, err
	}
	switch {
	case filterJSON != nil && len(brackets) > 0:
		return out, badQuery(`"filter" must be given in one form: JSON (filter={…}) or brackets (filter[field][_op]=…)`)
	case filterJSON != nil && *filterJSON != "":
		out.filter = []byte(*filterJSON)
	case len(brackets) > 0:
		if out.filter, err = bracketFilter(brackets, v); err != nil {
			return out, err
		}
	}
	if limit > 0 && page > 0 {
		off := int64(page-1) * int64(limit)
		if off > math.MaxInt {
			return out, badQuery(`"page" is too large`)
		}
		offset = int(off)
	}
	out.offset = offset
	if limit > 0 {
		out.limit = limit // -1 (every record) is the Manager's 0
	}
	out.none = limit == 0
	return out, nil
}

// parseUserQuery reads GET /users's query string (see parseListQuery; the
// filter is read by users.ParseFilter).
func parseUserQuery(v url.Values) (userQuery, error) {
	lq, err := parseListQuery(v, "users", viewFields)
	if err != nil {
		return userQuery{}, err
	}
	out := userQuery{none: lq.none, fields: lq.fields, meta: lq.meta, q: users.UserQuery{
		Search: lq.search, Sort: lq.sort, Limit: lq.limit, Offset: lq.offset}}
	if lq.filter != nil {
		if out.q.Filter, err = users.ParseFilter(lq.filter); err != nil {
			return out, err
		}
	}
	return out, nil
}

// parseRoleQuery reads GET /roles's query string (see parseListQuery; the
// filter is read by the Manager: users.RoleQuery).
func parseRoleQuery(v url.Values) (roleQuery, error) {
	lq, err := parseListQuery(v, "roles", roleFields)
	if err != nil {
		return roleQuery{}, err
	}
	out := roleQuery{none: lq.none, fields: lq.fields, meta: lq.meta, q: users.RoleQuery{
		Filter: lq.filter, Search: lq.search, Sort: lq.sort, Limit: lq.limit, Offset: lq.offset}}
	return out, nil
}

// fieldsParam reads the fields parameter (in any of its forms) of a route
// that answers one user; other parameters are left to the route.
func fieldsParam(v url.Values) ([]string, error) {
	only := url.Values{}
	for k, vals := range v {
		if k == "fields" || strings.HasPrefix(k, "fields[") {
			only[k] = vals
		}
	}
	if len(only) == 0 {
		return nil, nil
	}
	uq, err := parseUserQuery(only)
	return uq.fields, err
}

// splitList splits comma-separated items, trims them and drops empty ones.
func splitList(items []string) []string {
	var out []string
	for _, it := range items {
		for s := range strings.SplitSeq(it, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// parseFields reads the fields selection among known, the fields of what
// ("users"); nil (or "*") is every field.
func parseFields(items []string, what string, known []string) ([]string, error) {
	var out []string
	for _, it := range items {
		switch {
		case it == "*":
			return nil, nil
		case slices.Contains(known, it):
			if !slices.Contains(out, it) {
				out = append(out, it)
			}
		case strings.Contains(it, "."):
			return nil, badQuery("fields: fields of related collections (%q) are not supported", it)
		default:
			return nil, badQuery("fields: unknown field %q ("+what+" have "+strings.Join(known, ", ")+")", it)
		}
	}
	return out, nil
}

// parseMeta reads meta: total_count, filter_count, or * for both.
func parseMeta(items []string) ([]string, error) {
	var out []string
	for _, it := range items {
		var add []string
		switch it {
		case "*":
			add = []string{"total_count", "filter_count"}
		case "total_count", "filter_count":
			add = []string{it}
		default:
			return nil, badQuery(`meta: unknown value %q (want total_count, filter_count or *)`, it)
		}
		for _, a := range add {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// bracketNode is a node of a bracketed filter as qs builds it: an object
// (kids), or a leaf holding the values given.
type bracketNode struct {
	kids   map[string]*bracketNode
	order  []string
	vals   []string
	leaf   bool
	forced bool // key[]=…: always an array
}

// bracketFilter turns filter[a][b]…=v parameters into the JSON document
// they spell, as qs would parse them for Directus: numeric segments make
// arrays ([0], [1]…), key[]= appends to an array, a repeated key gives an
// array, any other value is a string.
func bracketFilter(keys []string, v url.Values) ([]byte, error) {
	root := &bracketNode{}
	for _, k := range keys {
		segs, err := bracketSegments(k)
		if err != nil {
			return nil, err
		}
		n := root
		for i, s := range segs {
			if s == "" {
				if i != len(segs)-1 {
					return nil, badQuery("%q: [] must come last", k)
				}
				n.forced = true
				break
			}
			if n.leaf {
				return nil, badQuery("%q is given both as a value and as an object", "filter"+strings.Join(wrap(segs[:i]), ""))
			}
			if n.kids == nil {
				n.kids = map[string]*bracketNode{}
			}
			kid, ok := n.kids[s]
			if !ok {
				kid = &bracketNode{}
				n.kids[s] = kid
				n.order = append(n.order, s)
			}
			n = kid
		}
		if n.kids != nil {
			return nil, badQuery("%q is given both as a value and as an object", "filter"+strings.Join(wrap(segs), ""))
		}
		n.leaf = true
		n.vals = append(n.vals, v[k]...)
	}
	return json.Marshal(root.value())
}

func wrap(segs []string) []string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = "[" + s + "]"
	}
	return out
}

// bracketSegments splits "filter[a][b][]" into ["a", "b", ""].
func bracketSegments(k string) ([]string, error) {
	rest := strings.TrimPrefix(k, "filter")
	var segs []string
	for rest != "" {
		end := strings.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 || strings.ContainsAny(rest[1:end], "[") {
			return nil, badQuery("%q is not a filter parameter (want filter[field][_operator]=value)", k)
		}
		segs = append(segs, rest[1:end])
		rest = rest[end+1:]
		if len(segs) > maxBracketDepth {
			return nil, badQuery("%q is nested too deeply", k)
		}
	}
	if len(segs) == 0 {
		return nil, badQuery("%q is not a filter parameter", k)
	}
	return segs, nil
}

// value is the JSON value of a node.
func (n *bracketNode) value() any {
	if n.leaf {
		if len(n.vals) == 1 && !n.forced {
			return n.vals[0]
		}
		return n.vals
	}
	numeric := len(n.order) > 0
	for _, k := range n.order {
		if i, err := strconv.Atoi(k); err != nil || k != strconv.Itoa(i) || i < 0 {
			numeric = false
			break
		}
	}
	if numeric {
		idx := slices.Clone(n.order)
		slices.SortFunc(idx, func(a, b string) int {
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			return x - y
		})
		arr := make([]any, len(idx))
		for i, k := range idx {
			arr[i] = n.kids[k].value()
		}
		return arr
	}
	obj := make(orderedObject, 0, len(n.order))
	for _, k := range n.order {
		obj = append(obj, orderedField{k, n.kids[k].value()})
	}
	return obj
}

// orderedObject is a JSON object that keeps its keys' order.
type orderedObject []orderedField

type orderedField struct {
	key string
	val any
}

func (o orderedObject) MarshalJSON() ([]byte, error) { return o.appendJSON(nil) }

// appendJSON appends o's JSON to b. Values are encoded as json.Marshal
// encodes them, but an ordered object or a list nested in o is appended
// in place: encoding/json would encode it by itself and then scan its
// bytes again (a Marshaler's output is compacted), once per level.
func (o orderedObject) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, f := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(f.key)
		if err != nil {
			return nil, err
		}
		b = append(append(b, k...), ':')
		if b, err = appendValue(b, f.val); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendValue appends v's JSON to b, ordered objects and lists of them in
// place.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case orderedObject:
		return v.appendJSON(b)
	case usersJSON:
		return v.appendJSON(b)
	case userJSON:
		return appendUser(b, v.u, v.fields)
	case []any:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}
