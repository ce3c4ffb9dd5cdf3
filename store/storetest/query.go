package storetest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users"
)

// ---------------------------------------------------------------------------
// ListUsers with Filter, Search and Sort; CountUsers.
//
// The clauses below check a store against hand-written answers (which pin
// the meaning of each operator) and against reference, a direct reading of
// the contract in Go, for every operator on every field.

// queryRoles are the roles of the query data set. Their ids hold
// non-ASCII letters, mixed case and an emoji, so that the _i operators and
// the byte order of role ids are exercised.
const (
	roleEditor = "Rôle-ÉDITEUR"
	roleViewer = "viewer-👀"
)

// queryUsers creates the query data set: nine users whose fields cover
// what the filter operators tell apart — a user without email, without
// first or without last name, without role; upper and lower case, non-ASCII
// letters, the characters that are wildcards in SQL patterns (% _ * ? [),
// two users created at the same instant, two with the same last name.
func (f *fixture) queryUsers() []*users.UserRecord {
	f.Helper()
	for _, r := range []*users.Role{
		{ID: roleEditor, Name: "Éditeur"},
		{ID: roleViewer, Name: "Viewer"},
	} {
		if err := f.s.CreateRole(f.ctx, r); err != nil {
			f.Fatalf("CreateRole(%s): %v", r.ID, err)
		}
	}
	rows := []struct {
		email, first, last string
		status             users.Status
		role               string
		created            time.Duration
	}{
		{"Ünal.Oz@Example.com", "Ünal", "Öztürk", users.StatusActive, roleEditor, 0},
		{"50%_off@example.com", "Bob", "Smith_Jones", users.StatusActive, roleViewer, time.Second},
		{"", "", "Solo", users.StatusInvited, "", 2 * time.Second},
		{"carol@EXAMPLE.org", "Carol", "Ørsted", users.StatusSuspended, roleEditor, 3 * time.Second},
		{"dave@example.com", "Dave", "", users.StatusActive, "", 3 * time.Second},
		{"eve*?[x]@example.net", "Ève", "st*r", users.StatusUnverified, roleViewer, 5 * time.Second},
		{"ZOE@example.com", "Zoë", "Zed", users.StatusActive, "", 6 * time.Second},
		{"élodie@example.com", "Élodie", "Ünal", users.StatusDraft, roleEditor, 7 * time.Second},
		{"frank@example.com", "frank", "Ünal", users.StatusActive, roleEditor, 4 * time.Second},
	}
	out := make([]*users.UserRecord, len(rows))
	for i, r := range rows {
		u := newUser(r.email)
		u.FirstName, u.LastName, u.Status = r.first, r.last, r.status
		if r.role != "" {
			u.Role = ptr(r.role)
		}
		u.CreatedAt = base.Add(r.created)
		u.UpdatedAt = base.Add(time.Duration(len(rows)-i) * time.Minute)
		out[i] = f.createUser(u)
	}
	return out
}

// fieldValue is u's value of field, and whether it has one: a null role and
// an empty string have none.
func fieldValue(u *users.UserRecord, field users.UserField) (string, bool) {
	var v string
	switch field {
	case users.FieldID:
		v = u.ID
	case users.FieldEmail:
		v = u.Email
	case users.FieldFirstName:
		v = u.FirstName
	case users.FieldLastName:
		v = u.LastName
	case users.FieldStatus:
		v = string(u.Status)
	case users.FieldRole:
		if u.Role != nil {
			v = *u.Role
		}
	default:
		panic("storetest: no filter field " + string(field))
	}
	return v, v != ""
}

// reference reports whether u matches flt, as the contract defines it.
func reference(u *users.UserRecord, flt *users.UserFilter) bool {
	switch {
	case flt.Field != "":
	case flt.Or != nil:
		return slices.ContainsFunc(flt.Or, func(c *users.UserFilter) bool { return reference(u, c) })
	default:
		for _, c := range flt.And {
			if !reference(u, c) {
				return false
			}
		}
		return true
	}
	v, has := fieldValue(u, flt.Field)
	lv, lx := strings.ToLower(v), strings.ToLower(flt.Value)
	pos := func(ok bool) bool { return has && ok }
	switch flt.Op {
	case users.OpEq:
		return pos(v == flt.Value)
	case users.OpNeq:
		return !pos(v == flt.Value)
	case users.OpContains:
		return pos(strings.Contains(v, flt.Value))
	case users.OpNContains:
		return !pos(strings.Contains(v, flt.Value))
	case users.OpIContains:
		return pos(strings.Contains(lv, lx))
	case users.OpNIContains:
		return !pos(strings.Contains(lv, lx))
	case users.OpStartsWith:
		return pos(strings.HasPrefix(v, flt.Value))
	case users.OpNStartsWith:
		return !pos(strings.HasPrefix(v, flt.Value))
	case users.OpIStartsWith:
		return pos(strings.HasPrefix(lv, lx))
	case users.OpNIStartsWith:
		return !pos(strings.HasPrefix(lv, lx))
	case users.OpEndsWith:
		return pos(strings.HasSuffix(v, flt.Value))
	case users.OpNEndsWith:
		return !pos(strings.HasSuffix(v, flt.Value))
	case users.OpIEndsWith:
		return pos(strings.HasSuffix(lv, lx))
	case users.OpNIEndsWith:
		return !pos(strings.HasSuffix(lv, lx))
	case users.OpIn:
		return pos(slices.Contains(flt.Values, v))
	case users.OpNin:
		return !pos(slices.Contains(flt.Values, v))
	case users.OpNull, users.OpEmpty:
		return !has
	case users.OpNNull, users.OpNEmpty:
		return has
	}
	panic("storetest: no filter operator " + string(flt.Op))
}

// searchMatches reports whether u matches a UserQuery.Search of s.
func searchMatches(u *users.UserRecord, s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(strings.ToLower(u.Email), s) ||
		strings.Contains(strings.ToLower(u.FirstName), s) ||
		strings.Contains(strings.ToLower(u.LastName), s)
}

// compareUsers orders a and b as ListUsers with sorts must.
func compareUsers(sorts []users.UserSort) func(a, b *users.UserRecord) int {
	if len(sorts) == 0 {
		sorts = []users.UserSort{{Field: users.FieldCreatedAt}}
	}
	return func(a, b *users.UserRecord) int {
		for _, s := range sorts {
			var c int
			switch s.Field {
			case users.FieldCreatedAt:
				c = a.CreatedAt.Compare(b.CreatedAt)
			case users.FieldUpdatedAt:
				c = a.UpdatedAt.Compare(b.UpdatedAt)
			case users.FieldRole:
				switch {
				case a.Role == nil && b.Role == nil:
				case a.Role == nil:
					c = -1
				case b.Role == nil:
					c = 1
				default:
					c = strings.Compare(*a.Role, *b.Role)
				}
			default:
				av, _ := fieldValue(a, s.Field)
				bv, _ := fieldValue(b, s.Field)
				c = strings.Compare(av, bv)
			}
			if s.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	}
}

// expect returns the ids of the users in all that q selects, in q's order,
// paged, as the reference reading of the contract has it. It handles the
// fields of q the clauses use: Filter, Search, Role, NoRole, IDs, Sort,
// Limit, Offset.
func expect(all []*users.UserRecord, q users.UserQuery) []string {
	var sel []*users.UserRecord
	for _, u := range all {
		switch {
		case q.NoRole && u.Role != nil:
		case !q.NoRole && q.Role != nil && (u.Role == nil || *u.Role != *q.Role):
		case len(q.IDs) > 0 && !slices.Contains(q.IDs, u.ID):
		case q.Filter != nil && !reference(u, q.Filter):
		case q.Search != "" && !searchMatches(u, q.Search):
		default:
			sel = append(sel, u)
		}
	}
	slices.SortFunc(sel, compareUsers(q.Sort))
	ids := userIDs(sel)
	if q.Offset > 0 {
		ids = ids[min(q.Offset, len(ids)):]
	}
	if q.Limit > 0 && q.Limit < len(ids) {
		ids = ids[:q.Limit]
	}
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// pick returns the ids of us[i] for each i, in ListUsers' default order.
func pick(us []*users.UserRecord, idx ...int) []string {
	var sel []*users.UserRecord
	for _, i := range idx {
		sel = append(sel, us[i])
	}
	return userIDs(inListOrder(sel...))
}

// allBut returns the indexes of us but those in except.
func allBut(us []*users.UserRecord, except ...int) []int {
	var idx []int
	for i := range us {
		if !slices.Contains(except, i) {
			idx = append(idx, i)
		}
	}
	return idx
}

func (f *fixture) countUsers(q users.UserQuery) int {
	f.Helper()
	n, err := f.s.CountUsers(f.ctx, q)
	if err != nil {
		f.Fatalf("CountUsers(%s): %v", describeQuery(q), err)
	}
	return n
}

// checkQuery runs q through ListUsers and CountUsers and compares both with
// want (the ids ListUsers must return).
func (f *fixture) checkQuery(what string, q users.UserQuery, want []string) {
	f.Helper()
	got := userIDs(f.listUsers(q))
	if len(got) == 0 {
		got = nil
	}
	if !slices.Equal(got, want) {
		f.Errorf("%s: ListUsers(%s):\n got ids %v\nwant ids %v", what, describeQuery(q), got, want)
	}
	if q.Limit == 0 && q.Offset == 0 {
		if n := f.countUsers(q); n != len(want) {
			f.Errorf("%s: CountUsers(%s) = %d, want %d", what, describeQuery(q), n, len(want))
		}
	}
}

// describeQuery spells q out for failure messages.
func describeQuery(q users.UserQuery) string {
	var parts []string
	if q.Filter != nil {
		parts = append(parts, "Filter "+describeFilter(q.Filter))
	}
	if q.Search != "" {
		parts = append(parts, fmt.Sprintf("Search %q", q.Search))
	}
	if q.Role != nil {
		parts = append(parts, fmt.Sprintf("Role %q", *q.Role))
	}
	if q.NoRole {
		parts = append(parts, "NoRole")
	}
	if len(q.IDs) > 0 {
		parts = append(parts, fmt.Sprintf("IDs %q", q.IDs))
	}
	if len(q.Sort) > 0 {
		parts = append(parts, fmt.Sprintf("Sort %v", q.Sort))
	}
	if q.Limit != 0 || q.Offset != 0 {
		parts = append(parts, fmt.Sprintf("Limit %d Offset %d", q.Limit, q.Offset))
	}
	if len(parts) == 0 {
		return "{}"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func describeFilter(flt *users.UserFilter) string {
	group := func(name string, cs []*users.UserFilter) string {
		var parts []string
		for _, c := range cs {
			parts = append(parts, describeFilter(c))
		}
		return name + "[" + strings.Join(parts, " ") + "]"
	}
	switch {
	case flt.Field != "" && (flt.Op == users.OpIn || flt.Op == users.OpNin):
		return fmt.Sprintf("%s %s %q", flt.Field, flt.Op, flt.Values)
	case flt.Field != "":
		return fmt.Sprintf("%s %s %q", flt.Field, flt.Op, flt.Value)
	case flt.Or != nil:
		return group("_or", flt.Or)
	}
	return group("_and", flt.And)
}

// cond is a filter condition.
func cond(field users.UserField, op users.FilterOp, value string) *users.UserFilter {
	return &users.UserFilter{Field: field, Op: op, Value: value}
}

func condIn(field users.UserField, op users.FilterOp, values ...string) *users.UserFilter {
	if values == nil {
		values = []string{}
	}
	return &users.UserFilter{Field: field, Op: op, Values: values}
}

func and(cs ...*users.UserFilter) *users.UserFilter {
	if cs == nil {
		cs = []*users.UserFilter{}
	}
	return &users.UserFilter{And: cs}
}

func or(cs ...*users.UserFilter) *users.UserFilter {
	if cs == nil {
		cs = []*users.UserFilter{}
	}
	return &users.UserFilter{Or: cs}
}

// listUsersFilterSemantics pins the meaning of the operators with answers
// written by hand: case-sensitive and byte-exact comparisons, the _i
// operators lower-casing non-ASCII letters as strings.ToLower does, SQL
// wildcard characters taken literally, and a field without a value (a null
// role, an empty email or name) failing every positive comparison and
// passing every negative one.
func listUsersFilterSemantics(f *fixture) {
	us := f.queryUsers()
	for _, c := range []struct {
		flt  *users.UserFilter
		want []int
	}{
		{cond(users.FieldEmail, users.OpEq, "dave@example.com"), []int{4}},
		{cond(users.FieldEmail, users.OpEq, "DAVE@example.com"), nil},
		{cond(users.FieldEmail, users.OpNeq, "dave@example.com"), allBut(us, 4)},
		{cond(users.FieldEmail, users.OpEq, ""), nil},
		{cond(users.FieldEmail, users.OpNeq, ""), allBut(us)},
		{cond(users.FieldEmail, users.OpNull, ""), []int{2}},
		{cond(users.FieldEmail, users.OpEmpty, ""), []int{2}},
		{cond(users.FieldEmail, users.OpNNull, ""), allBut(us, 2)},
		{cond(users.FieldEmail, users.OpNEmpty, ""), allBut(us, 2)},
		{cond(users.FieldRole, users.OpNull, ""), []int{2, 4, 6}},
		{cond(users.FieldRole, users.OpEmpty, ""), []int{2, 4, 6}},
		{cond(users.FieldRole, users.OpNNull, ""), allBut(us, 2, 4, 6)},
		{cond(users.FieldRole, users.OpEq, ""), nil},
		{cond(users.FieldRole, users.OpNeq, ""), allBut(us)},
		{cond(users.FieldRole, users.OpNeq, roleEditor), []int{1, 2, 4, 5, 6}},
		{cond(users.FieldFirstName, users.OpNull, ""), []int{2}},
		{cond(users.FieldLastName, users.OpEmpty, ""), []int{4}},
		{cond(users.FieldLastName, users.OpNEmpty, ""), allBut(us, 4)},
		{cond(users.FieldEmail, users.OpContains, "example"), []int{1, 4, 5, 6, 7, 8}},
		{cond(users.FieldEmail, users.OpIContains, "EXAMPLE"), allBut(us, 2)},
		{cond(users.FieldEmail, users.OpContains, ""), allBut(us, 2)},
		{cond(users.FieldEmail, users.OpNContains, ""), []int{2}},
		{cond(users.FieldEmail, users.OpContains, "%"), []int{1}},
		{cond(users.FieldEmail, users.OpContains, "_"), []int{1}},
		{cond(users.FieldEmail, users.OpContains, "%_"), []int{1}},
		{cond(users.FieldEmail, users.OpStartsWith, "_"), nil},
		{cond(users.FieldEmail, users.OpContains, "*?[x]"), []int{5}},
		{cond(users.FieldEmail, users.OpContains, "?"), []int{5}},
		{cond(users.FieldEmail, users.OpIContains, "[X]"), []int{5}},
		{cond(users.FieldLastName, users.OpEndsWith, "*r"), []int{5}},
		{cond(users.FieldLastName, users.OpNContains, "Ü"), allBut(us, 7, 8)},
		{cond(users.FieldLastName, users.OpIContains, "ünal"), []int{7, 8}},
		{cond(users.FieldLastName, users.OpIContains, "unal"), nil},
		{cond(users.FieldLastName, users.OpNIEndsWith, "ÜNAL"), allBut(us, 7, 8)},
		{cond(users.FieldLastName, users.OpIStartsWith, "ø"), []int{3}},
		{cond(users.FieldFirstName, users.OpIStartsWith, "é"), []int{7}},
		{cond(users.FieldFirstName, users.OpStartsWith, "É"), []int{7}},
		{cond(users.FieldFirstName, users.OpStartsWith, "é"), nil},
		{cond(users.FieldFirstName, users.OpNStartsWith, "É"), allBut(us, 7)},
		{cond(users.FieldFirstName, users.OpNIStartsWith, "é"), allBut(us, 7)},
		{cond(users.FieldFirstName, users.OpIEndsWith, "Ë"), []int{6}},
		{cond(users.FieldFirstName, users.OpEq, "Frank"), nil},
		{cond(users.FieldEmail, users.OpIEndsWith, ".COM"), []int{0, 1, 4, 6, 7, 8}},
		{cond(users.FieldEmail, users.OpEndsWith, ".com"), []int{0, 1, 4, 6, 7, 8}},
		{cond(users.FieldEmail, users.OpNEndsWith, ".com"), []int{2, 3, 5}},
		{cond(users.FieldEmail, users.OpNIContains, "example.com"), []int{2, 3, 5}},
		{cond(users.FieldStatus, users.OpEq, "active"), []int{0, 1, 4, 6, 8}},
		{cond(users.FieldStatus, users.OpIStartsWith, "ACT"), []int{0, 1, 4, 6, 8}},
		{condIn(users.FieldStatus, users.OpIn, "active", "invited"), []int{0, 1, 2, 4, 6, 8}},
		{condIn(users.FieldStatus, users.OpIn), nil},
		{condIn(users.FieldStatus, users.OpNin), allBut(us)},
		{condIn(users.FieldStatus, users.OpNin, "active"), []int{2, 3, 5, 7}},
		{condIn(users.FieldRole, users.OpIn, roleEditor), []int{0, 3, 7, 8}},
		{condIn(users.FieldRole, users.OpNin, roleEditor), []int{1, 2, 4, 5, 6}},
		{condIn(users.FieldRole, users.OpIn, ""), nil},
		{condIn(users.FieldRole, users.OpNin, ""), allBut(us)},
		{condIn(users.FieldEmail, users.OpIn, "", "dave@example.com"), []int{4}},
		{condIn(users.FieldEmail, users.OpNin, "", "dave@example.com"), allBut(us, 4)},
		{cond(users.FieldRole, users.OpIContains, "éditeur"), []int{0, 3, 7, 8}},
		{cond(users.FieldRole, users.OpContains, "éditeur"), nil},
		{cond(users.FieldRole, users.OpEndsWith, "👀"), []int{1, 5}},
		{cond(users.FieldRole, users.OpNIStartsWith, "RÔLE"), []int{1, 2, 4, 5, 6}},
		{cond(users.FieldID, users.OpEq, us[3].ID), []int{3}},
		{cond(users.FieldID, users.OpIEndsWith, strings.ToUpper(us[3].ID[24:])), []int{3}},
		{condIn(users.FieldID, users.OpIn, us[3].ID, us[5].ID, newID()), []int{3, 5}},
		{condIn(users.FieldID, users.OpNin, us[3].ID, us[5].ID), allBut(us, 3, 5)},
	} {
		var want []string
		if len(c.want) > 0 {
			want = pick(us, c.want...)
		}
		f.checkQuery("filter", users.UserQuery{Filter: c.flt}, want)
	}
}

// listUsersFilterEveryOperator runs every operator on every filter field
// with values that match some users and not others, and compares with the
// reference reading of the contract.
func listUsersFilterEveryOperator(f *fixture) {
	us := f.queryUsers()
	id := us[3].ID
	values := map[users.UserField][]string{
		users.FieldID:        {id, id[:8], strings.ToUpper(id[9:18]), id[24:], "", "nope"},
		users.FieldEmail:     {us[0].Email, "example", "EXAMPLE", "ün", "%", "_", "*", "?", "[x]", ".com", "", "zz"},
		users.FieldFirstName: {"Ünal", "é", "É", "è", "o", "ZOË", "frank", ""},
		users.FieldLastName:  {"Ünal", "ÜNAL", "_", "*r", "ø", "Ø", "Smith_", ""},
		users.FieldStatus:    {"active", "ACTIVE", "act", "ed", "ive", ""},
		users.FieldRole:      {roleEditor, roleViewer, "rôle", "ÉDITEUR", "👀", "viewer", ""},
	}
	lists := func(vs []string) [][]string {
		return [][]string{{}, {vs[0]}, {vs[0], vs[1], "nope"}, {""}, {vs[1], vs[len(vs)-1]}}
	}
	compares := []users.FilterOp{
		users.OpEq, users.OpNeq, users.OpContains, users.OpNContains, users.OpIContains, users.OpNIContains,
		users.OpStartsWith, users.OpNStartsWith, users.OpIStartsWith, users.OpNIStartsWith,
		users.OpEndsWith, users.OpNEndsWith, users.OpIEndsWith, users.OpNIEndsWith,
	}
	for _, field := range []users.UserField{users.FieldID, users.FieldEmail, users.FieldFirstName, users.FieldLastName, users.FieldStatus, users.FieldRole} {
		var filters []*users.UserFilter
		for _, op := range compares {
			for _, v := range values[field] {
				filters = append(filters, cond(field, op, v))
			}
		}
		for _, op := range []users.FilterOp{users.OpIn, users.OpNin} {
			for _, vs := range lists(values[field]) {
				filters = append(filters, condIn(field, op, vs...))
			}
		}
		for _, op := range []users.FilterOp{users.OpNull, users.OpNNull, users.OpEmpty, users.OpNEmpty} {
			filters = append(filters, cond(field, op, ""))
		}
		for _, flt := range filters {
			q := users.UserQuery{Filter: flt}
			f.checkQuery("filter", q, expect(us, q))
		}
	}
}

// listUsersFilterGroups checks _and and _or, nested, empty, and combined
// with the other fields of a UserQuery (which all must hold).
func listUsersFilterGroups(f *fixture) {
	us := f.queryUsers()
	deep := cond(users.FieldStatus, users.OpEq, "active")
	for range 20 {
		deep = and(or(deep))
	}
	for _, c := range []struct {
		q    users.UserQuery
		want []int
	}{
		{users.UserQuery{Filter: and()}, allBut(us)},
		{users.UserQuery{Filter: or()}, nil},
		{users.UserQuery{Filter: or(cond(users.FieldEmail, users.OpEq, "dave@example.com"), cond(users.FieldStatus, users.OpEq, "invited"))}, []int{2, 4}},
		{users.UserQuery{Filter: and(cond(users.FieldStatus, users.OpEq, "active"),
			or(cond(users.FieldRole, users.OpNull, ""), cond(users.FieldLastName, users.OpIContains, "ünal")))}, []int{4, 6, 8}},
		{users.UserQuery{Filter: or(
			and(condIn(users.FieldRole, users.OpIn, roleViewer), cond(users.FieldStatus, users.OpNeq, "active")),
			and(or()))}, []int{5}},
		{users.UserQuery{Filter: or(and(), cond(users.FieldEmail, users.OpEq, "nobody"))}, allBut(us)},
		{users.UserQuery{Filter: and(cond(users.FieldRole, users.OpNNull, ""),
			or(cond(users.FieldEmail, users.OpNull, ""), cond(users.FieldFirstName, users.OpEmpty, "")))}, nil},
		{users.UserQuery{Filter: and(cond(users.FieldRole, users.OpNeq, roleViewer), cond(users.FieldEmail, users.OpNContains, "example"))}, []int{0, 2, 3}},
		{users.UserQuery{Filter: deep}, []int{0, 1, 4, 6, 8}},
		// Every field of the query must hold.
		{users.UserQuery{Filter: cond(users.FieldStatus, users.OpEq, "active"), Role: ptr(roleEditor)}, []int{0, 8}},
		{users.UserQuery{Filter: cond(users.FieldStatus, users.OpEq, "active"), NoRole: true}, []int{4, 6}},
		{users.UserQuery{Filter: cond(users.FieldRole, users.OpNNull, ""), NoRole: true}, nil},
		{users.UserQuery{Filter: cond(users.FieldStatus, users.OpNeq, "active"), IDs: []string{us[0].ID, us[2].ID, us[3].ID}}, []int{2, 3}},
		{users.UserQuery{Filter: cond(users.FieldStatus, users.OpEq, "active"), Search: "ünal"}, []int{0, 8}},
		{users.UserQuery{Filter: or(), Search: "a"}, nil},
	} {
		var want []string
		if len(c.want) > 0 {
			want = pick(us, c.want...)
		}
		f.checkQuery("filter groups", c.q, want)
		f.checkQuery("filter groups (reference)", c.q, expect(us, c.q))
	}
}

// listUsersSearch checks Search: a case-insensitive substring of the
// email, first or last name, non-ASCII letters folded as strings.ToLower
// folds them, wildcard characters taken literally.
func listUsersSearch(f *fixture) {
	us := f.queryUsers()
	for _, c := range []struct {
		search string
		want   []int
	}{
		{"ün", []int{0, 7, 8}},
		{"ÜN", []int{0, 7, 8}},
		{"Ünal", []int{0, 7, 8}},
		{"un", nil},
		{"EXAMPLE.COM", []int{0, 1, 4, 6, 7, 8}},
		{"example.org", []int{3}},
		{"%", []int{1}},
		{"_", []int{1}},
		{"*", []int{5}},
		{"?", []int{5}},
		{"[x]", []int{5}},
		{"ève", []int{5}},
		{"ÉLOD", []int{7}},
		{"ø", []int{3}},
		{"solo", []int{2}},
		{"zoë", []int{6}},
		{"zoe", []int{6}},
		{"zz", nil},
	} {
		var want []string
		if len(c.want) > 0 {
			want = pick(us, c.want...)
		}
		q := users.UserQuery{Search: c.search}
		f.checkQuery("search", q, want)
		f.checkQuery("search (reference)", q, expect(us, q))
	}
	// Search with a role: both hold.
	f.checkQuery("search with a role", users.UserQuery{Search: "ünal", Role: ptr(roleEditor)}, pick(us, 0, 7, 8))
	f.checkQuery("search with NoRole", users.UserQuery{Search: "e", NoRole: true}, pick(us, 4, 6))
}

// listUsersSort checks Sort: several keys, Desc, strings in byte order,
// a null role before every role ascending, ID breaking ties.
func listUsersSort(f *fixture) {
	us := f.queryUsers()
	sortBy := func(spec ...string) []users.UserSort {
		var s []users.UserSort
		for _, x := range spec {
			desc := strings.HasPrefix(x, "-")
			s = append(s, users.UserSort{Field: users.UserField(strings.TrimPrefix(x, "-")), Desc: desc})
		}
		return s
	}
	ids := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, us[i].ID)
		}
		return out
	}
	// Written out: byte order puts "" first, digits and upper case before
	// lower case, and "Ü" (C3 9C) before "é" (C3 A9) after every ASCII
	// letter.
	f.checkQuery("sort by email (byte order)", users.UserQuery{Sort: sortBy("email")}, ids(2, 1, 6, 3, 4, 5, 8, 0, 7))
	f.checkQuery("sort by email descending", users.UserQuery{Sort: sortBy("-email")}, ids(7, 0, 8, 5, 4, 3, 6, 1, 2))

	// A null role sorts first ascending, last descending; ties by ID.
	byRole := f.listUsers(users.UserQuery{Sort: sortBy("role")})
	if len(byRole) == len(us) {
		for i, u := range byRole {
			if (i < 3) != (u.Role == nil) {
				f.Errorf("sort by role: user %d has role %s; want the three users without a role first", i, roleString(u.Role))
			}
		}
	}
	byRoleDesc := f.listUsers(users.UserQuery{Sort: sortBy("-role")})
	if len(byRoleDesc) == len(us) {
		for i, u := range byRoleDesc {
			if (i >= len(us)-3) != (u.Role == nil) {
				f.Errorf("sort by role descending: user %d has role %s; want the three users without a role last", i, roleString(u.Role))
			}
		}
	}

	for _, spec := range [][]string{
		{"role"}, {"-role"}, {"role", "-email"}, {"-role", "first_name"},
		{"status"}, {"-status"}, {"status", "-last_name"}, {"-last_name", "email"},
		{"first_name"}, {"-first_name"}, {"last_name"}, {"last_name", "first_name"},
		{"created_at"}, {"-created_at"}, {"updated_at"}, {"-updated_at"},
		{"id"}, {"-id"}, {"status", "role", "email"}, {"-status", "-role", "-created_at"},
		{"email", "-email"},
	} {
		q := users.UserQuery{Sort: sortBy(spec...)}
		f.checkQuery(fmt.Sprintf("sort %v", spec), q, expect(us, q))
	}

	// Ties: users with the same status come in ID order, whichever the
	// direction of the key.
	for _, spec := range []string{"status", "-status"} {
		got := f.listUsers(users.UserQuery{Sort: sortBy(spec)})
		for i := 1; i < len(got); i++ {
			if got[i].Status == got[i-1].Status && got[i].ID < got[i-1].ID {
				f.Errorf("sort %s: users %s and %s have the same status but come in descending ID order; ID ascending breaks ties", spec, got[i-1].ID, got[i].ID)
			}
		}
	}
	// Two users created at the same instant: the default order breaks the
	// tie by ID as well.
	f.checkQuery("no sort", users.UserQuery{}, expect(us, users.UserQuery{}))
}

// listUsersPages pages through a query that filters, searches and sorts:
// Limit and Offset apply after all of them.
func listUsersPages(f *fixture) {
	us := f.queryUsers()
	q := users.UserQuery{
		Filter: condIn(users.FieldStatus, users.OpNin, "suspended"),
		Search: "e",
		Sort:   []users.UserSort{{Field: users.FieldLastName, Desc: true}, {Field: users.FieldEmail}},
	}
	full := expect(us, q)
	if len(full) < 5 {
		f.Fatalf("suite bug: the query selects %d users, want at least 5", len(full))
	}
	f.checkQuery("the whole query", q, full)
	var paged []string
	for off := 0; off < len(full)+2; off += 2 {
		pq := q
		pq.Limit, pq.Offset = 2, off
		page := userIDs(f.listUsers(pq))
		f.checkIDs(fmt.Sprintf("page Limit 2 Offset %d", off), page, expect(us, pq))
		paged = append(paged, page...)
	}
	f.checkIDs("pages put together", paged, full)
	for _, lo := range [][2]int{{0, 3}, {1, 0}, {100, 1}, {3, len(full)}, {1, len(full) - 1}} {
		pq := q
		pq.Limit, pq.Offset = lo[0], lo[1]
		f.checkQuery(fmt.Sprintf("Limit %d Offset %d", lo[0], lo[1]), pq, expect(us, pq))
	}
	// CountUsers ignores Sort, Limit and Offset.
	pq := q
	pq.Limit, pq.Offset = 1, 2
	if n := f.countUsers(pq); n != len(full) {
		f.Errorf("CountUsers(%s) = %d, want %d (Limit and Offset ignored)", describeQuery(pq), n, len(full))
	}
}

// listUsersUnicodeRoles: role ids with non-ASCII letters, CJK and emoji
// select, filter and sort exactly.
func listUsersUnicodeRoles(f *fixture) {
	ids := []string{"rôle-管理者-🛡", "Rôle-ÉDITEUR", "role-plain", "rôle-管理"}
	for _, id := range ids {
		if err := f.s.CreateRole(f.ctx, &users.Role{ID: id, Name: "Nom «" + id + "»"}); err != nil {
			f.Fatalf("CreateRole(%q): %v", id, err)
		}
	}
	var all []*users.UserRecord
	for i, id := range ids {
		u := newUser(fmt.Sprintf("user%d@example.com", i))
		u.Role = ptr(id)
		u.CreatedAt = base.Add(time.Duration(i) * time.Second)
		all = append(all, f.createUser(u))
		f.checkUser("GetUser of a user with a Unicode role id", f.getUser(u.ID), u)
	}
	f.checkQuery("Role with a Unicode id", users.UserQuery{Role: ptr(ids[0])}, []string{all[0].ID})
	f.checkQuery("Role that is a prefix of another", users.UserQuery{Role: ptr(ids[3])}, []string{all[3].ID})
	for _, q := range []users.UserQuery{
		{Filter: cond(users.FieldRole, users.OpEq, ids[0])},
		{Filter: cond(users.FieldRole, users.OpStartsWith, "rôle-管理")},
		{Filter: cond(users.FieldRole, users.OpIStartsWith, "RÔLE-")},
		{Filter: cond(users.FieldRole, users.OpIContains, "管理者-🛡")},
		{Filter: condIn(users.FieldRole, users.OpIn, ids[0], ids[3])},
		{Sort: []users.UserSort{{Field: users.FieldRole}}},
		{Sort: []users.UserSort{{Field: users.FieldRole, Desc: true}}},
	} {
		f.checkQuery("Unicode role ids", q, expect(all, q))
	}
}

// countUsersIgnoresPaging: CountUsers counts what the query selects,
// whatever its Sort, Limit and Offset.
func countUsersIgnoresPaging(f *fixture) {
	if n := f.countUsers(users.UserQuery{}); n != 0 {
		f.Errorf("CountUsers on an empty store = %d, want 0", n)
	}
	us := f.queryUsers()
	for _, q := range []users.UserQuery{
		{},
		{Limit: 2},
		{Limit: 2, Offset: 5},
		{Offset: 100},
		{Sort: []users.UserSort{{Field: users.FieldEmail, Desc: true}}, Limit: 1},
	} {
		if n := f.countUsers(q); n != len(us) {
			f.Errorf("CountUsers(%s) = %d, want %d", describeQuery(q), n, len(us))
		}
	}
	q := users.UserQuery{Role: ptr(roleEditor), Limit: 1, Offset: 1}
	if n := f.countUsers(q); n != 4 {
		f.Errorf("CountUsers(%s) = %d, want 4", describeQuery(q), n)
	}
}

// countUsersMatchesList: CountUsers selects as ListUsers does, for every
// kind of selection.
func countUsersMatchesList(f *fixture) {
	us := f.queryUsers()
	for _, q := range []users.UserQuery{
		{Role: ptr(roleViewer)},
		{Role: ptr(newID())},
		{NoRole: true},
		{IDs: []string{us[1].ID, us[2].ID, newID()}},
		{Filter: cond(users.FieldEmail, users.OpNull, "")},
		{Filter: or()},
		{Search: "ün"},
		{Search: "EXAMPLE", Filter: cond(users.FieldStatus, users.OpEq, "active"), Role: ptr(roleEditor)},
	} {
		want := len(expect(us, q))
		if n := f.countUsers(q); n != want {
			f.Errorf("CountUsers(%s) = %d, want %d", describeQuery(q), n, want)
		}
		if n := len(f.listUsers(q)); n != want {
			f.Errorf("ListUsers(%s): %d users, want %d", describeQuery(q), n, want)
		}
	}
	// A user changed or added is counted at once.
	f.update(us[2].ID, users.UserChange{Status: ptr(users.StatusActive), UpdatedAt: base.Add(time.Hour)}, users.Effects{})
	f.user("new@example.com")
	q := users.UserQuery{Filter: cond(users.FieldStatus, users.OpEq, "active")}
	if n := f.countUsers(q); n != 7 {
		f.Errorf("CountUsers(%s) after an update and a create = %d, want 7", describeQuery(q), n)
	}
}
