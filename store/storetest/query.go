package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// ListUsers

func listUsersAll(f *fixture) {
	if us := f.listUsers(store.UserQuery{}); len(us) != 0 {
		f.Errorf("ListUsers on an empty store: %d users", len(us))
	}
	r := f.role("editor")
	a := newUser("a@example.com")
	a.Role = ptr(r.ID)
	f.createUser(a)
	b := newUser("b@example.com")
	b.CreatedAt = base.Add(time.Second)
	f.createUser(b)
	got := f.listUsers(store.UserQuery{})
	f.checkIDs("ListUsers with the zero query", userIDs(got), []string{a.ID, b.ID})
	if len(got) == 2 {
		f.checkUser("ListUsers[0]", got[0], a)
		f.checkUser("ListUsers[1]", got[1], b)
	}
}

func listUsersByRole(f *fixture) {
	editor, viewer, empty := f.role("editor"), f.role("viewer"), f.role("empty")
	var editors []*store.User
	for i := range 3 {
		u := newUser(fmt.Sprintf("editor%d@example.com", i))
		u.Role = ptr(editor.ID)
		u.CreatedAt = base.Add(time.Duration(i) * time.Second)
		editors = append(editors, f.createUser(u))
	}
	v := newUser("viewer@example.com")
	v.Role = ptr(viewer.ID)
	f.createUser(v)
	f.user("norole@example.com")

	f.checkIDs("ListUsers by role", userIDs(f.listUsers(store.UserQuery{Role: ptr(editor.ID)})), userIDs(editors))
	f.checkIDs("ListUsers by the other role", userIDs(f.listUsers(store.UserQuery{Role: ptr(viewer.ID)})), []string{v.ID})
	if us := f.listUsers(store.UserQuery{Role: ptr(empty.ID)}); len(us) != 0 {
		f.Errorf("ListUsers by a role nobody has: %d users", len(us))
	}
	if us := f.listUsers(store.UserQuery{Role: ptr(newID())}); len(us) != 0 {
		f.Errorf("ListUsers by an unknown role: %d users", len(us))
	}
}

func listUsersNoRole(f *fixture) {
	r := f.role("editor")
	withRole := newUser("editor@example.com")
	withRole.Role = ptr(r.ID)
	f.createUser(withRole)
	a := f.user("a@example.com")
	b := newUser("")
	b.CreatedAt = base.Add(time.Second)
	f.createUser(b)

	f.checkIDs("ListUsers with NoRole", userIDs(f.listUsers(store.UserQuery{NoRole: true})), []string{a.ID, b.ID})
	f.checkIDs("ListUsers with NoRole and a Role (NoRole wins)",
		userIDs(f.listUsers(store.UserQuery{NoRole: true, Role: ptr(r.ID)})), []string{a.ID, b.ID})

	// A role removed with UpdateUser puts the user among them.
	f.update(withRole.ID, store.UserChange{SetRole: true, UpdatedAt: base}, store.Effects{})
	f.checkIDs("ListUsers with NoRole after a role was removed",
		userIDs(f.listUsers(store.UserQuery{NoRole: true})), userIDs(inListOrder(withRole, a, b)))
}

func listUsersOrder(f *fixture) {
	var all []*store.User
	// Insertion order differs from CreatedAt order, and three users share
	// a CreatedAt so that ID breaks the tie.
	offsets := []time.Duration{2 * time.Hour, 0, time.Hour, time.Hour, time.Hour, -time.Minute, 2 * time.Hour}
	for i, off := range offsets {
		u := newUser(fmt.Sprintf("user%d@example.com", i))
		u.CreatedAt = base.Add(off)
		u.UpdatedAt = u.CreatedAt
		all = append(all, f.createUser(u))
	}
	sortUsers(all)
	f.checkIDs("ListUsers order (CreatedAt, then ID)", userIDs(f.listUsers(store.UserQuery{})), userIDs(all))
	// UpdatedAt does not move a user.
	f.update(all[0].ID, store.UserChange{FirstName: ptr("Later"), UpdatedAt: base.Add(10 * time.Hour)}, store.Effects{})
	f.checkIDs("ListUsers order after an update", userIDs(f.listUsers(store.UserQuery{})), userIDs(all))
}

func listUsersLimitOffset(f *fixture) {
	var all []*store.User
	for i := range 5 {
		u := newUser(fmt.Sprintf("user%d@example.com", i))
		u.CreatedAt = base.Add(time.Duration(5-i) * time.Minute) // reverse insertion order
		all = append(all, f.createUser(u))
	}
	sortUsers(all)
	ids := userIDs(all)
	for _, c := range []struct {
		limit, offset int
		want          []string
	}{
		{0, 0, ids},
		{2, 0, ids[:2]},
		{2, 2, ids[2:4]},
		{2, 4, ids[4:]},
		{2, 5, nil},
		{0, 3, ids[3:]},
		{10, 1, ids[1:]},
		{1, 0, ids[:1]},
	} {
		got := f.listUsers(store.UserQuery{Limit: c.limit, Offset: c.offset})
		f.checkIDs(fmt.Sprintf("ListUsers Limit %d Offset %d", c.limit, c.offset), userIDs(got), c.want)
	}
	// Limit and Offset apply after the filter.
	r := f.role("editor")
	if err := f.s.UpdateUsers(f.ctx, []string{ids[1], ids[3], ids[4]}, store.Condition{}, store.UserChange{SetRole: true, Role: ptr(r.ID), UpdatedAt: base}); err != nil {
		f.Fatalf("UpdateUsers: %v", err)
	}
	got := f.listUsers(store.UserQuery{Role: ptr(r.ID), Limit: 1, Offset: 1})
	f.checkIDs("ListUsers by role, Limit 1 Offset 1", userIDs(got), []string{ids[3]})
}

func listUsersIDs(f *fixture) {
	r := f.role("editor")
	var all []*store.User
	for i := range 4 {
		u := newUser(fmt.Sprintf("user%d@example.com", i))
		u.CreatedAt = base.Add(time.Duration(i) * time.Second)
		if i%2 == 0 {
			u.Role = ptr(r.ID)
		}
		all = append(all, f.createUser(u))
	}
	// Order of the ids asked for does not matter; unknown ids are skipped.
	got := f.listUsers(store.UserQuery{IDs: []string{all[3].ID, newID(), all[0].ID, all[2].ID}})
	f.checkIDs("ListUsers by IDs", userIDs(got), []string{all[0].ID, all[2].ID, all[3].ID})
	if len(got) == 3 {
		f.checkUser("ListUsers by IDs [0]", got[0], all[0])
	}
	// IDs and Role both select.
	got = f.listUsers(store.UserQuery{IDs: []string{all[0].ID, all[1].ID, all[3].ID}, Role: ptr(r.ID)})
	f.checkIDs("ListUsers by IDs and Role", userIDs(got), []string{all[0].ID})
	got = f.listUsers(store.UserQuery{IDs: []string{all[0].ID, all[1].ID, all[3].ID}, NoRole: true})
	f.checkIDs("ListUsers by IDs and NoRole", userIDs(got), []string{all[1].ID, all[3].ID})
	got = f.listUsers(store.UserQuery{IDs: []string{newID()}})
	f.checkIDs("ListUsers by an unknown id", userIDs(got), nil)
}

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
func (f *fixture) queryUsers() []*store.User {
	f.Helper()
	for _, r := range []*store.Role{
		{ID: roleEditor, Name: "Éditeur"},
		{ID: roleViewer, Name: "Viewer"},
	} {
		if err := f.s.CreateRole(f.ctx, r); err != nil {
			f.Fatalf("CreateRole(%s): %v", r.ID, err)
		}
	}
	rows := []struct {
		email, first, last string
		status             store.Status
		role               string
		created            time.Duration
	}{
		{"Ünal.Oz@Example.com", "Ünal", "Öztürk", store.StatusActive, roleEditor, 0},
		{"50%_off@example.com", "Bob", "Smith_Jones", store.StatusActive, roleViewer, time.Second},
		{"", "", "Solo", store.StatusInvited, "", 2 * time.Second},
		{"carol@EXAMPLE.org", "Carol", "Ørsted", store.StatusSuspended, roleEditor, 3 * time.Second},
		{"dave@example.com", "Dave", "", store.StatusActive, "", 3 * time.Second},
		{"eve*?[x]@example.net", "Ève", "st*r", store.StatusUnverified, roleViewer, 5 * time.Second},
		{"ZOE@example.com", "Zoë", "Zed", store.StatusActive, "", 6 * time.Second},
		{"élodie@example.com", "Élodie", "Ünal", store.StatusDraft, roleEditor, 7 * time.Second},
		{"frank@example.com", "frank", "Ünal", store.StatusActive, roleEditor, 4 * time.Second},
	}
	out := make([]*store.User, len(rows))
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
func fieldValue(u *store.User, field store.Field) (string, bool) {
	var v string
	switch field {
	case store.FieldID:
		v = u.ID
	case store.FieldEmail:
		v = u.Email
	case store.FieldFirstName:
		v = u.FirstName
	case store.FieldLastName:
		v = u.LastName
	case store.FieldStatus:
		v = string(u.Status)
	case store.FieldRole:
		if u.Role != nil {
			v = *u.Role
		}
	default:
		panic("storetest: no filter field " + string(field))
	}
	return v, v != ""
}

// reference reports whether u matches flt, as the contract defines it.
func reference(u *store.User, flt *store.Filter) bool {
	switch {
	case flt.Field != "":
	case flt.Or != nil:
		return slices.ContainsFunc(flt.Or, func(c *store.Filter) bool { return reference(u, c) })
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
	case store.OpEq:
		return pos(v == flt.Value)
	case store.OpNeq:
		return !pos(v == flt.Value)
	case store.OpContains:
		return pos(strings.Contains(v, flt.Value))
	case store.OpNContains:
		return !pos(strings.Contains(v, flt.Value))
	case store.OpIContains:
		return pos(strings.Contains(lv, lx))
	case store.OpNIContains:
		return !pos(strings.Contains(lv, lx))
	case store.OpStartsWith:
		return pos(strings.HasPrefix(v, flt.Value))
	case store.OpNStartsWith:
		return !pos(strings.HasPrefix(v, flt.Value))
	case store.OpIStartsWith:
		return pos(strings.HasPrefix(lv, lx))
	case store.OpNIStartsWith:
		return !pos(strings.HasPrefix(lv, lx))
	case store.OpEndsWith:
		return pos(strings.HasSuffix(v, flt.Value))
	case store.OpNEndsWith:
		return !pos(strings.HasSuffix(v, flt.Value))
	case store.OpIEndsWith:
		return pos(strings.HasSuffix(lv, lx))
	case store.OpNIEndsWith:
		return !pos(strings.HasSuffix(lv, lx))
	case store.OpIn:
		return pos(slices.Contains(flt.Values, v))
	case store.OpNin:
		return !pos(slices.Contains(flt.Values, v))
	case store.OpNull, store.OpEmpty:
		return !has
	case store.OpNNull, store.OpNEmpty:
		return has
	}
	panic("storetest: no filter operator " + string(flt.Op))
}

// searchMatches reports whether u matches a UserQuery.Search of s.
func searchMatches(u *store.User, s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(strings.ToLower(u.Email), s) ||
		strings.Contains(strings.ToLower(u.FirstName), s) ||
		strings.Contains(strings.ToLower(u.LastName), s)
}

// compareUsers orders a and b as ListUsers with sorts must.
func compareUsers(sorts []store.Sort) func(a, b *store.User) int {
	if len(sorts) == 0 {
		sorts = []store.Sort{{Field: store.FieldCreatedAt}}
	}
	return func(a, b *store.User) int {
		for _, s := range sorts {
			var c int
			switch s.Field {
			case store.FieldCreatedAt:
				c = a.CreatedAt.Compare(b.CreatedAt)
			case store.FieldUpdatedAt:
				c = a.UpdatedAt.Compare(b.UpdatedAt)
			case store.FieldRole:
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
func expect(all []*store.User, q store.UserQuery) []string {
	var sel []*store.User
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
func pick(us []*store.User, idx ...int) []string {
	var sel []*store.User
	for _, i := range idx {
		sel = append(sel, us[i])
	}
	return userIDs(inListOrder(sel...))
}

// allBut returns the indexes of us but those in except.
func allBut(us []*store.User, except ...int) []int {
	var idx []int
	for i := range us {
		if !slices.Contains(except, i) {
			idx = append(idx, i)
		}
	}
	return idx
}

func (f *fixture) countUsers(q store.UserQuery) int {
	f.Helper()
	n, err := f.s.CountUsers(f.ctx, q)
	if err != nil {
		f.Fatalf("CountUsers(%s): %v", describeQuery(q), err)
	}
	return n
}

// checkQuery runs q through ListUsers and CountUsers and compares both with
// want (the ids ListUsers must return).
func (f *fixture) checkQuery(what string, q store.UserQuery, want []string) {
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
func describeQuery(q store.UserQuery) string {
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

func describeFilter(flt *store.Filter) string {
	group := func(name string, cs []*store.Filter) string {
		var parts []string
		for _, c := range cs {
			parts = append(parts, describeFilter(c))
		}
		return name + "[" + strings.Join(parts, " ") + "]"
	}
	switch {
	case flt.Field != "" && (flt.Op == store.OpIn || flt.Op == store.OpNin):
		return fmt.Sprintf("%s %s %q", flt.Field, flt.Op, flt.Values)
	case flt.Field != "":
		return fmt.Sprintf("%s %s %q", flt.Field, flt.Op, flt.Value)
	case flt.Or != nil:
		return group("_or", flt.Or)
	}
	return group("_and", flt.And)
}

// cond is a filter condition.
func cond(field store.Field, op store.Op, value string) *store.Filter {
	return &store.Filter{Field: field, Op: op, Value: value}
}

func condIn(field store.Field, op store.Op, values ...string) *store.Filter {
	if values == nil {
		values = []string{}
	}
	return &store.Filter{Field: field, Op: op, Values: values}
}

func and(cs ...*store.Filter) *store.Filter {
	if cs == nil {
		cs = []*store.Filter{}
	}
	return &store.Filter{And: cs}
}

func or(cs ...*store.Filter) *store.Filter {
	if cs == nil {
		cs = []*store.Filter{}
	}
	return &store.Filter{Or: cs}
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
		flt  *store.Filter
		want []int
	}{
		{cond(store.FieldEmail, store.OpEq, "dave@example.com"), []int{4}},
		{cond(store.FieldEmail, store.OpEq, "DAVE@example.com"), nil},
		{cond(store.FieldEmail, store.OpNeq, "dave@example.com"), allBut(us, 4)},
		{cond(store.FieldEmail, store.OpEq, ""), nil},
		{cond(store.FieldEmail, store.OpNeq, ""), allBut(us)},
		{cond(store.FieldEmail, store.OpNull, ""), []int{2}},
		{cond(store.FieldEmail, store.OpEmpty, ""), []int{2}},
		{cond(store.FieldEmail, store.OpNNull, ""), allBut(us, 2)},
		{cond(store.FieldEmail, store.OpNEmpty, ""), allBut(us, 2)},
		{cond(store.FieldRole, store.OpNull, ""), []int{2, 4, 6}},
		{cond(store.FieldRole, store.OpEmpty, ""), []int{2, 4, 6}},
		{cond(store.FieldRole, store.OpNNull, ""), allBut(us, 2, 4, 6)},
		{cond(store.FieldRole, store.OpEq, ""), nil},
		{cond(store.FieldRole, store.OpNeq, ""), allBut(us)},
		{cond(store.FieldRole, store.OpNeq, roleEditor), []int{1, 2, 4, 5, 6}},
		{cond(store.FieldFirstName, store.OpNull, ""), []int{2}},
		{cond(store.FieldLastName, store.OpEmpty, ""), []int{4}},
		{cond(store.FieldLastName, store.OpNEmpty, ""), allBut(us, 4)},
		{cond(store.FieldEmail, store.OpContains, "example"), []int{1, 4, 5, 6, 7, 8}},
		{cond(store.FieldEmail, store.OpIContains, "EXAMPLE"), allBut(us, 2)},
		{cond(store.FieldEmail, store.OpContains, ""), allBut(us, 2)},
		{cond(store.FieldEmail, store.OpNContains, ""), []int{2}},
		{cond(store.FieldEmail, store.OpContains, "%"), []int{1}},
		{cond(store.FieldEmail, store.OpContains, "_"), []int{1}},
		{cond(store.FieldEmail, store.OpContains, "%_"), []int{1}},
		{cond(store.FieldEmail, store.OpStartsWith, "_"), nil},
		{cond(store.FieldEmail, store.OpContains, "*?[x]"), []int{5}},
		{cond(store.FieldEmail, store.OpContains, "?"), []int{5}},
		{cond(store.FieldEmail, store.OpIContains, "[X]"), []int{5}},
		{cond(store.FieldLastName, store.OpEndsWith, "*r"), []int{5}},
		{cond(store.FieldLastName, store.OpNContains, "Ü"), allBut(us, 7, 8)},
		{cond(store.FieldLastName, store.OpIContains, "ünal"), []int{7, 8}},
		{cond(store.FieldLastName, store.OpIContains, "unal"), nil},
		{cond(store.FieldLastName, store.OpNIEndsWith, "ÜNAL"), allBut(us, 7, 8)},
		{cond(store.FieldLastName, store.OpIStartsWith, "ø"), []int{3}},
		{cond(store.FieldFirstName, store.OpIStartsWith, "é"), []int{7}},
		{cond(store.FieldFirstName, store.OpStartsWith, "É"), []int{7}},
		{cond(store.FieldFirstName, store.OpStartsWith, "é"), nil},
		{cond(store.FieldFirstName, store.OpNStartsWith, "É"), allBut(us, 7)},
		{cond(store.FieldFirstName, store.OpNIStartsWith, "é"), allBut(us, 7)},
		{cond(store.FieldFirstName, store.OpIEndsWith, "Ë"), []int{6}},
		{cond(store.FieldFirstName, store.OpEq, "Frank"), nil},
		{cond(store.FieldEmail, store.OpIEndsWith, ".COM"), []int{0, 1, 4, 6, 7, 8}},
		{cond(store.FieldEmail, store.OpEndsWith, ".com"), []int{0, 1, 4, 6, 7, 8}},
		{cond(store.FieldEmail, store.OpNEndsWith, ".com"), []int{2, 3, 5}},
		{cond(store.FieldEmail, store.OpNIContains, "example.com"), []int{2, 3, 5}},
		{cond(store.FieldStatus, store.OpEq, "active"), []int{0, 1, 4, 6, 8}},
		{cond(store.FieldStatus, store.OpIStartsWith, "ACT"), []int{0, 1, 4, 6, 8}},
		{condIn(store.FieldStatus, store.OpIn, "active", "invited"), []int{0, 1, 2, 4, 6, 8}},
		{condIn(store.FieldStatus, store.OpIn), nil},
		{condIn(store.FieldStatus, store.OpNin), allBut(us)},
		{condIn(store.FieldStatus, store.OpNin, "active"), []int{2, 3, 5, 7}},
		{condIn(store.FieldRole, store.OpIn, roleEditor), []int{0, 3, 7, 8}},
		{condIn(store.FieldRole, store.OpNin, roleEditor), []int{1, 2, 4, 5, 6}},
		{condIn(store.FieldRole, store.OpIn, ""), nil},
		{condIn(store.FieldRole, store.OpNin, ""), allBut(us)},
		{condIn(store.FieldEmail, store.OpIn, "", "dave@example.com"), []int{4}},
		{condIn(store.FieldEmail, store.OpNin, "", "dave@example.com"), allBut(us, 4)},
		{cond(store.FieldRole, store.OpIContains, "éditeur"), []int{0, 3, 7, 8}},
		{cond(store.FieldRole, store.OpContains, "éditeur"), nil},
		{cond(store.FieldRole, store.OpEndsWith, "👀"), []int{1, 5}},
		{cond(store.FieldRole, store.OpNIStartsWith, "RÔLE"), []int{1, 2, 4, 5, 6}},
		{cond(store.FieldID, store.OpEq, us[3].ID), []int{3}},
		{cond(store.FieldID, store.OpIEndsWith, strings.ToUpper(us[3].ID[24:])), []int{3}},
		{condIn(store.FieldID, store.OpIn, us[3].ID, us[5].ID, newID()), []int{3, 5}},
		{condIn(store.FieldID, store.OpNin, us[3].ID, us[5].ID), allBut(us, 3, 5)},
	} {
		var want []string
		if len(c.want) > 0 {
			want = pick(us, c.want...)
		}
		f.checkQuery("filter", store.UserQuery{Filter: c.flt}, want)
	}
}

// listUsersFilterEveryOperator runs every operator on every filter field
// with values that match some users and not others, and compares with the
// reference reading of the contract.
func listUsersFilterEveryOperator(f *fixture) {
	us := f.queryUsers()
	id := us[3].ID
	values := map[store.Field][]string{
		store.FieldID:        {id, id[:8], strings.ToUpper(id[9:18]), id[24:], "", "nope"},
		store.FieldEmail:     {us[0].Email, "example", "EXAMPLE", "ün", "%", "_", "*", "?", "[x]", ".com", "", "zz"},
		store.FieldFirstName: {"Ünal", "é", "É", "è", "o", "ZOË", "frank", ""},
		store.FieldLastName:  {"Ünal", "ÜNAL", "_", "*r", "ø", "Ø", "Smith_", ""},
		store.FieldStatus:    {"active", "ACTIVE", "act", "ed", "ive", ""},
		store.FieldRole:      {roleEditor, roleViewer, "rôle", "ÉDITEUR", "👀", "viewer", ""},
	}
	lists := func(vs []string) [][]string {
		return [][]string{{}, {vs[0]}, {vs[0], vs[1], "nope"}, {""}, {vs[1], vs[len(vs)-1]}}
	}
	compares := []store.Op{
		store.OpEq, store.OpNeq, store.OpContains, store.OpNContains, store.OpIContains, store.OpNIContains,
		store.OpStartsWith, store.OpNStartsWith, store.OpIStartsWith, store.OpNIStartsWith,
		store.OpEndsWith, store.OpNEndsWith, store.OpIEndsWith, store.OpNIEndsWith,
	}
	for _, field := range []store.Field{store.FieldID, store.FieldEmail, store.FieldFirstName, store.FieldLastName, store.FieldStatus, store.FieldRole} {
		var filters []*store.Filter
		for _, op := range compares {
			for _, v := range values[field] {
				filters = append(filters, cond(field, op, v))
			}
		}
		for _, op := range []store.Op{store.OpIn, store.OpNin} {
			for _, vs := range lists(values[field]) {
				filters = append(filters, condIn(field, op, vs...))
			}
		}
		for _, op := range []store.Op{store.OpNull, store.OpNNull, store.OpEmpty, store.OpNEmpty} {
			filters = append(filters, cond(field, op, ""))
		}
		for _, flt := range filters {
			q := store.UserQuery{Filter: flt}
			f.checkQuery("filter", q, expect(us, q))
		}
	}
}

// listUsersFilterGroups checks _and and _or, nested, empty, and combined
// with the other fields of a UserQuery (which all must hold).
func listUsersFilterGroups(f *fixture) {
	us := f.queryUsers()
	deep := cond(store.FieldStatus, store.OpEq, "active")
	for range 20 {
		deep = and(or(deep))
	}
	for _, c := range []struct {
		q    store.UserQuery
		want []int
	}{
		{store.UserQuery{Filter: and()}, allBut(us)},
		{store.UserQuery{Filter: or()}, nil},
		{store.UserQuery{Filter: or(cond(store.FieldEmail, store.OpEq, "dave@example.com"), cond(store.FieldStatus, store.OpEq, "invited"))}, []int{2, 4}},
		{store.UserQuery{Filter: and(cond(store.FieldStatus, store.OpEq, "active"),
			or(cond(store.FieldRole, store.OpNull, ""), cond(store.FieldLastName, store.OpIContains, "ünal")))}, []int{4, 6, 8}},
		{store.UserQuery{Filter: or(
			and(condIn(store.FieldRole, store.OpIn, roleViewer), cond(store.FieldStatus, store.OpNeq, "active")),
			and(or()))}, []int{5}},
		{store.UserQuery{Filter: or(and(), cond(store.FieldEmail, store.OpEq, "nobody"))}, allBut(us)},
		{store.UserQuery{Filter: and(cond(store.FieldRole, store.OpNNull, ""),
			or(cond(store.FieldEmail, store.OpNull, ""), cond(store.FieldFirstName, store.OpEmpty, "")))}, nil},
		{store.UserQuery{Filter: and(cond(store.FieldRole, store.OpNeq, roleViewer), cond(store.FieldEmail, store.OpNContains, "example"))}, []int{0, 2, 3}},
		{store.UserQuery{Filter: deep}, []int{0, 1, 4, 6, 8}},
		// Every field of the query must hold.
		{store.UserQuery{Filter: cond(store.FieldStatus, store.OpEq, "active"), Role: ptr(roleEditor)}, []int{0, 8}},
		{store.UserQuery{Filter: cond(store.FieldStatus, store.OpEq, "active"), NoRole: true}, []int{4, 6}},
		{store.UserQuery{Filter: cond(store.FieldRole, store.OpNNull, ""), NoRole: true}, nil},
		{store.UserQuery{Filter: cond(store.FieldStatus, store.OpNeq, "active"), IDs: []string{us[0].ID, us[2].ID, us[3].ID}}, []int{2, 3}},
		{store.UserQuery{Filter: cond(store.FieldStatus, store.OpEq, "active"), Search: "ünal"}, []int{0, 8}},
		{store.UserQuery{Filter: or(), Search: "a"}, nil},
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
		q := store.UserQuery{Search: c.search}
		f.checkQuery("search", q, want)
		f.checkQuery("search (reference)", q, expect(us, q))
	}
	// Search with a role: both hold.
	f.checkQuery("search with a role", store.UserQuery{Search: "ünal", Role: ptr(roleEditor)}, pick(us, 0, 7, 8))
	f.checkQuery("search with NoRole", store.UserQuery{Search: "e", NoRole: true}, pick(us, 4, 6))
}

// listUsersSort checks Sort: several keys, Desc, strings in byte order,
// a null role before every role ascending, ID breaking ties.
func listUsersSort(f *fixture) {
	us := f.queryUsers()
	sortBy := func(spec ...string) []store.Sort {
		var s []store.Sort
		for _, x := range spec {
			desc := strings.HasPrefix(x, "-")
			s = append(s, store.Sort{Field: store.Field(strings.TrimPrefix(x, "-")), Desc: desc})
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
	f.checkQuery("sort by email (byte order)", store.UserQuery{Sort: sortBy("email")}, ids(2, 1, 6, 3, 4, 5, 8, 0, 7))
	f.checkQuery("sort by email descending", store.UserQuery{Sort: sortBy("-email")}, ids(7, 0, 8, 5, 4, 3, 6, 1, 2))

	// A null role sorts first ascending, last descending; ties by ID.
	byRole := f.listUsers(store.UserQuery{Sort: sortBy("role")})
	if len(byRole) == len(us) {
		for i, u := range byRole {
			if (i < 3) != (u.Role == nil) {
				f.Errorf("sort by role: user %d has role %s; want the three users without a role first", i, roleString(u.Role))
			}
		}
	}
	byRoleDesc := f.listUsers(store.UserQuery{Sort: sortBy("-role")})
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
		q := store.UserQuery{Sort: sortBy(spec...)}
		f.checkQuery(fmt.Sprintf("sort %v", spec), q, expect(us, q))
	}

	// Ties: users with the same status come in ID order, whichever the
	// direction of the key.
	for _, spec := range []string{"status", "-status"} {
		got := f.listUsers(store.UserQuery{Sort: sortBy(spec)})
		for i := 1; i < len(got); i++ {
			if got[i].Status == got[i-1].Status && got[i].ID < got[i-1].ID {
				f.Errorf("sort %s: users %s and %s have the same status but come in descending ID order; ID ascending breaks ties", spec, got[i-1].ID, got[i].ID)
			}
		}
	}
	// Two users created at the same instant: the default order breaks the
	// tie by ID as well.
	f.checkQuery("no sort", store.UserQuery{}, expect(us, store.UserQuery{}))
}

// listUsersPages pages through a query that filters, searches and sorts:
// Limit and Offset apply after all of them.
func listUsersPages(f *fixture) {
	us := f.queryUsers()
	q := store.UserQuery{
		Filter: condIn(store.FieldStatus, store.OpNin, "suspended"),
		Search: "e",
		Sort:   []store.Sort{{Field: store.FieldLastName, Desc: true}, {Field: store.FieldEmail}},
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
		if err := f.s.CreateRole(f.ctx, &store.Role{ID: id, Name: "Nom «" + id + "»"}); err != nil {
			f.Fatalf("CreateRole(%q): %v", id, err)
		}
	}
	var all []*store.User
	for i, id := range ids {
		u := newUser(fmt.Sprintf("user%d@example.com", i))
		u.Role = ptr(id)
		u.CreatedAt = base.Add(time.Duration(i) * time.Second)
		all = append(all, f.createUser(u))
		f.checkUser("GetUser of a user with a Unicode role id", f.getUser(u.ID), u)
	}
	f.checkQuery("Role with a Unicode id", store.UserQuery{Role: ptr(ids[0])}, []string{all[0].ID})
	f.checkQuery("Role that is a prefix of another", store.UserQuery{Role: ptr(ids[3])}, []string{all[3].ID})
	for _, q := range []store.UserQuery{
		{Filter: cond(store.FieldRole, store.OpEq, ids[0])},
		{Filter: cond(store.FieldRole, store.OpStartsWith, "rôle-管理")},
		{Filter: cond(store.FieldRole, store.OpIStartsWith, "RÔLE-")},
		{Filter: cond(store.FieldRole, store.OpIContains, "管理者-🛡")},
		{Filter: condIn(store.FieldRole, store.OpIn, ids[0], ids[3])},
		{Sort: []store.Sort{{Field: store.FieldRole}}},
		{Sort: []store.Sort{{Field: store.FieldRole, Desc: true}}},
	} {
		f.checkQuery("Unicode role ids", q, expect(all, q))
	}
}

// countUsersIgnoresPaging: CountUsers counts what the query selects,
// whatever its Sort, Limit and Offset.
func countUsersIgnoresPaging(f *fixture) {
	if n := f.countUsers(store.UserQuery{}); n != 0 {
		f.Errorf("CountUsers on an empty store = %d, want 0", n)
	}
	us := f.queryUsers()
	for _, q := range []store.UserQuery{
		{},
		{Limit: 2},
		{Limit: 2, Offset: 5},
		{Offset: 100},
		{Sort: []store.Sort{{Field: store.FieldEmail, Desc: true}}, Limit: 1},
	} {
		if n := f.countUsers(q); n != len(us) {
			f.Errorf("CountUsers(%s) = %d, want %d", describeQuery(q), n, len(us))
		}
	}
	q := store.UserQuery{Role: ptr(roleEditor), Limit: 1, Offset: 1}
	if n := f.countUsers(q); n != 4 {
		f.Errorf("CountUsers(%s) = %d, want 4", describeQuery(q), n)
	}
}

// countUsersMatchesList: CountUsers selects as ListUsers does, for every
// kind of selection.
func countUsersMatchesList(f *fixture) {
	us := f.queryUsers()
	for _, q := range []store.UserQuery{
		{Role: ptr(roleViewer)},
		{Role: ptr(newID())},
		{NoRole: true},
		{IDs: []string{us[1].ID, us[2].ID, newID()}},
		{Filter: cond(store.FieldEmail, store.OpNull, "")},
		{Filter: or()},
		{Search: "ün"},
		{Search: "EXAMPLE", Filter: cond(store.FieldStatus, store.OpEq, "active"), Role: ptr(roleEditor)},
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
	f.update(us[2].ID, store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: base.Add(time.Hour)}, store.Effects{})
	f.user("new@example.com")
	q := store.UserQuery{Filter: cond(store.FieldStatus, store.OpEq, "active")}
	if n := f.countUsers(q); n != 7 {
		f.Errorf("CountUsers(%s) after an update and a create = %d, want 7", describeQuery(q), n)
	}
}

// listUsersFilterUnsupported: an operator the store does not run — OpRegex,
// since every database has its own regular expressions, or one it does not
// know — makes ListUsers and CountUsers fail with an *UnsupportedError
// naming it (matching store.ErrUnsupported), wherever it sits in the tree,
// so that every store answers such a filter alike.
func listUsersFilterUnsupported(f *fixture) {
	f.user("a@example.com")
	for _, c := range []struct {
		flt *store.Filter
		op  store.Op
	}{
		{cond(store.FieldEmail, store.OpRegex, "^a"), store.OpRegex},
		{or(cond(store.FieldStatus, store.OpEq, "active"), and(cond(store.FieldFirstName, store.OpRegex, "/a/i"))), store.OpRegex},
		{cond(store.FieldEmail, "_like", "a%"), "_like"},
		{and(cond(store.FieldEmail, store.OpNull, ""), cond(store.FieldRole, "_gt", "x")), "_gt"},
	} {
		q := store.UserQuery{Filter: c.flt}
		_, lerr := f.s.ListUsers(f.ctx, q)
		_, cerr := f.s.CountUsers(f.ctx, q)
		for _, r := range []struct {
			method string
			err    error
		}{{"ListUsers", lerr}, {"CountUsers", cerr}} {
			var ue *store.UnsupportedError
			switch {
			case !errors.Is(r.err, store.ErrUnsupported):
				f.Errorf("%s(%s): err = %v; want one matching store.ErrUnsupported", r.method, describeQuery(q), r.err)
			case !errors.As(r.err, &ue) || ue.Op != c.op:
				f.Errorf("%s(%s): err = %v; want a *store.UnsupportedError for %s", r.method, describeQuery(q), r.err, c.op)
			}
		}
	}
}

// injectionValues are filter values and searches that would change the
// meaning of a query that pasted them into its text: quotes, backslashes,
// comment and statement separators, and the wildcard and escape characters
// of LIKE and GLOB. The first is the classic escape out of a substring
// test: pasted into instr(email, '…') > 0 it selects every user.
var injectionValues = []string{
	`x') > 0 OR 1=1 OR instr(email, 'x`,
	`' OR '1'='1`,
	`\' OR 1=1 -- `,
	`x") OR 1=1 --`,
	`'; DELETE FROM users_users; --`,
	`%' OR '1'='1`,
	`'`, `''`, `\`, `\\`, `\'`, `\%`, `\_`, `!`, `!%`, `$1`, `?`,
	`O'Brien`, `back\slash`, `"quoted"`,
}

// listUsersFilterValuesAreData: every value of a filter or a search is
// compared as text and never read as part of the query, whatever quotes or
// backslashes it holds; the classic injection as a _contains value selects
// no user.
func listUsersFilterValuesAreData(f *fixture) {
	all := f.queryUsers()
	odd := newUser(`o'brien\x@example.com`)
	odd.FirstName, odd.LastName = `O'Brien`, `back\slash "quoted"`
	odd.CreatedAt = base.Add(time.Minute)
	all = append(all, f.createUser(odd))

	classic := store.UserQuery{Filter: cond(store.FieldEmail, store.OpContains, injectionValues[0])}
	f.checkQuery("the classic injection as a _contains value", classic, nil)
	f.checkQuery("the classic injection as a search", store.UserQuery{Search: injectionValues[0]}, nil)

	ops := []store.Op{
		store.OpEq, store.OpNeq, store.OpContains, store.OpNContains, store.OpIContains, store.OpNIContains,
		store.OpStartsWith, store.OpNStartsWith, store.OpIStartsWith, store.OpNIStartsWith,
		store.OpEndsWith, store.OpNEndsWith, store.OpIEndsWith, store.OpNIEndsWith,
	}
	for _, v := range injectionValues {
		for _, field := range []store.Field{store.FieldEmail, store.FieldLastName} {
			for _, op := range ops {
				q := store.UserQuery{Filter: cond(field, op, v)}
				f.checkQuery("a value with quotes or backslashes", q, expect(all, q))
			}
			for _, op := range []store.Op{store.OpIn, store.OpNin} {
				q := store.UserQuery{Filter: condIn(field, op, v, odd.Email)}
				f.checkQuery("a list with quotes or backslashes", q, expect(all, q))
			}
		}
		q := store.UserQuery{Search: v}
		f.checkQuery("a search with quotes or backslashes", q, expect(all, q))
	}
	if n := f.countUsers(store.UserQuery{}); n != len(all) {
		f.Errorf("CountUsers after the queries = %d, want %d: a query changed the data", n, len(all))
	}
}
