package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Roles and policies

// A catalog is what the clauses on roles and on policies need of either:
// how its methods and messages name the record, the store's methods for
// it, and how to make, read and rename one. Roles and policies follow the
// same rules, so one clause checks both.
type catalog[T comparable] struct {
	kind, kinds string // "Role" and "Roles", as the methods name them
	create      func(f *fixture, v *T) error
	get         func(f *fixture, id string) (*T, error)
	list        func(f *fixture) ([]*T, error)
	make        func(name string) *T // a new record without admin access
	key         func(v *T) (id, name string)
	setName     func(v *T, name string)
	setAdmin    func(v *T, id string) // admin access and the given id
}

func roleCatalog() catalog[store.Role] {
	return catalog[store.Role]{
		kind: "Role", kinds: "Roles",
		create:   func(f *fixture, r *store.Role) error { return f.s.CreateRole(f.ctx, r) },
		get:      func(f *fixture, id string) (*store.Role, error) { return f.s.GetRole(f.ctx, id) },
		list:     func(f *fixture) ([]*store.Role, error) { return f.s.ListRoles(f.ctx) },
		make:     newRole,
		key:      func(r *store.Role) (string, string) { return r.ID, r.Name },
		setName:  func(r *store.Role, name string) { r.Name = name },
		setAdmin: func(r *store.Role, id string) { r.ID, r.AdminAccess = id, true },
	}
}

func policyCatalog() catalog[store.Policy] {
	return catalog[store.Policy]{
		kind: "Policy", kinds: "Policies",
		create:   func(f *fixture, p *store.Policy) error { return f.s.CreatePolicy(f.ctx, p) },
		get:      func(f *fixture, id string) (*store.Policy, error) { return f.s.GetPolicy(f.ctx, id) },
		list:     func(f *fixture) ([]*store.Policy, error) { return f.s.ListPolicies(f.ctx) },
		make:     newPolicy,
		key:      func(p *store.Policy) (string, string) { return p.ID, p.Name },
		setName:  func(p *store.Policy, name string) { p.Name = name },
		setAdmin: func(p *store.Policy, id string) { p.ID, p.AdminAccess = id, true },
	}
}

// onRoles and onPolicies turn a clause on either into the clause on one.
func onRoles(clause func(*fixture, catalog[store.Role])) func(*fixture) {
	return func(f *fixture) { clause(f, roleCatalog()) }
}

func onPolicies(clause func(*fixture, catalog[store.Policy])) func(*fixture) {
	return func(f *fixture) { clause(f, policyCatalog()) }
}

// add creates a record named name without admin access, failing the
// sub-test if it cannot.
func (c catalog[T]) add(f *fixture, name string) *T {
	f.Helper()
	v := c.make(name)
	if err := c.create(f, v); err != nil {
		f.Fatalf("Create%s(%s): %v", c.kind, name, err)
	}
	return v
}

// sort orders vs as the List method must: by Name, then by ID.
func (c catalog[T]) sort(vs []*T) {
	slices.SortFunc(vs, func(a, b *T) int {
		aID, aName := c.key(a)
		bID, bName := c.key(b)
		return cmp.Or(strings.Compare(aName, bName), strings.Compare(aID, bID))
	})
}

// A record reads back as it was created, with admin access or without.
func catalogCreateGet[T comparable](f *fixture, c catalog[T]) {
	admin := c.make("administrator")
	id, _ := c.key(admin)
	c.setAdmin(admin, id)
	if err := c.create(f, admin); err != nil {
		f.Fatalf("Create%s: %v", c.kind, err)
	}
	plain := c.add(f, "editor")
	for _, want := range []*T{admin, plain} {
		id, _ := c.key(want)
		got, err := c.get(f, id)
		if err != nil {
			f.Fatalf("Get%s: %v", c.kind, err)
		}
		if *got != *want {
			f.Errorf("Get%s = %+v, want %+v", c.kind, *got, *want)
		}
	}
}

// The list is empty on an empty store, then holds every record, by Name
// and then ID (two records share a name).
func catalogListOrder[T comparable](f *fixture, c catalog[T]) {
	vs, err := c.list(f)
	if err != nil {
		f.Fatalf("List%s on an empty store: %v", c.kinds, err)
	}
	if len(vs) != 0 {
		f.Errorf("List%s on an empty store: %d records", c.kinds, len(vs))
	}
	var want []*T
	for _, name := range []string{"viewer", "admin", "editor", "admin", "author"} {
		want = append(want, c.add(f, name))
	}
	c.sort(want)
	got, err := c.list(f)
	if err != nil {
		f.Fatalf("List%s: %v", c.kinds, err)
	}
	if len(got) != len(want) {
		f.Fatalf("List%s: %d records, want %d", c.kinds, len(got), len(want))
	}
	for i := range got {
		if *got[i] != *want[i] {
			f.Errorf("List%s[%d] = %+v, want %+v (order: Name, then ID)", c.kinds, i, *got[i], *want[i])
		}
	}
}

func catalogNotFound[T comparable](f *fixture, c catalog[T]) {
	_, err := c.get(f, newID())
	f.wantErr("Get"+c.kind+" on an empty store", err, store.ErrNotFound)
	c.add(f, "editor")
	_, err = c.get(f, newID())
	f.wantErr("Get"+c.kind+" of an unknown id", err, store.ErrNotFound)
}

// A record with an existing ID is refused, and changes nothing.
func catalogDuplicateID[T comparable](f *fixture, c catalog[T]) {
	v := c.add(f, "editor")
	id, _ := c.key(v)
	dup := c.make("impostor")
	c.setAdmin(dup, id)
	f.wantErr("Create"+c.kind+" with an existing id", c.create(f, dup), store.ErrDuplicateID)
	got, err := c.get(f, id)
	if err != nil {
		f.Fatalf("Get%s: %v", c.kind, err)
	}
	if *got != *v {
		f.Errorf("Get%s after a duplicate Create%s = %+v, want %+v", c.kind, c.kind, *got, *v)
	}
	if vs, err := c.list(f); err != nil || len(vs) != 1 {
		f.Errorf("List%s after a duplicate Create%s: %d records, %v; want 1", c.kinds, c.kind, len(vs), err)
	}
}

// Changing a record passed to Create or returned by Get or List changes
// nothing stored.
func catalogCopies[T comparable](f *fixture, c catalog[T]) {
	v := c.make("editor")
	want := *v
	id, _ := c.key(v)
	if err := c.create(f, v); err != nil {
		f.Fatalf("Create%s: %v", c.kind, err)
	}
	c.setName(v, "changed")
	got, err := c.get(f, id)
	if err != nil {
		f.Fatalf("Get%s: %v", c.kind, err)
	}
	c.setName(got, "changed")
	vs, err := c.list(f)
	if err != nil {
		f.Fatalf("List%s: %v", c.kinds, err)
	}
	for _, x := range vs {
		c.setName(x, "changed")
	}
	if got, err := c.get(f, id); err != nil || *got != want {
		f.Errorf("Get%s after changing records passed in and returned = %+v, %v; want %+v", c.kind, got, err, want)
	}
}

func rolesUnicode(f *fixture) {
	names := []string{"éclair", "Zebra", "👑 Admin", "Äpfel", "apple", "管理者", "Éclair", "Zebra"}
	var want []*store.Role
	for i, name := range names {
		r := &store.Role{ID: fmt.Sprintf("rôle-%d-%s", i, name), Name: name, Description: unicodeSamples[i%len(unicodeSamples)]}
		if err := f.s.CreateRole(f.ctx, r); err != nil {
			f.Fatalf("CreateRole(%q): %v", r.ID, err)
		}
		got, err := f.s.GetRole(f.ctx, r.ID)
		if err != nil {
			f.Fatalf("GetRole(%q): %v", r.ID, err)
		}
		if *got != *r {
			f.Errorf("GetRole = %+v, want %+v", *got, *r)
		}
		want = append(want, r)
	}
	// Names in byte order, then ids: "Zebra" (Z is 5A) before "apple",
	// then "Äpfel" (C3 84), "Éclair" (C3 89), "éclair" (C3 A9), CJK, emoji.
	wantNames := []string{"Zebra", "Zebra", "apple", "Äpfel", "Éclair", "éclair", "管理者", "👑 Admin"}
	roleCatalog().sort(want)
	got, err := f.s.ListRoles(f.ctx)
	if err != nil {
		f.Fatalf("ListRoles: %v", err)
	}
	var gotNames []string
	for _, r := range got {
		gotNames = append(gotNames, r.Name)
	}
	if !slices.Equal(gotNames, wantNames) {
		f.Errorf("ListRoles names = %q, want %q (byte order)", gotNames, wantNames)
	}
	for i := range min(len(got), len(want)) {
		if *got[i] != *want[i] {
			f.Errorf("ListRoles[%d] = %+v, want %+v", i, *got[i], *want[i])
		}
	}
	// Users name them exactly.
	u := newUser("alice@example.com")
	u.Role = ptr(want[7].ID)
	f.createUser(u)
	f.checkUser("user with a role whose id has an emoji", f.getUser(u.ID), u)

	p := &store.Policy{ID: "politique-✓-" + newID(), Name: "Rédacteurs 📝"}
	if err := f.s.CreatePolicy(f.ctx, p); err != nil {
		f.Fatalf("CreatePolicy: %v", err)
	}
	if got, err := f.s.GetPolicy(f.ctx, p.ID); err != nil || *got != *p {
		f.Errorf("GetPolicy = %+v, %v; want %+v", got, err, *p)
	}
}
