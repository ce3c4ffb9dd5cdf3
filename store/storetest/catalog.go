package storetest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Roles and policies

func rolesCreateGet(f *fixture) {
	r := newRole("administrator")
	r.AdminAccess = true
	r.Description = "Full access — «everything»"
	if err := f.s.CreateRole(f.ctx, r); err != nil {
		f.Fatalf("CreateRole: %v", err)
	}
	plain := f.role("editor")
	for _, want := range []*store.Role{r, plain} {
		got, err := f.s.GetRole(f.ctx, want.ID)
		if err != nil {
			f.Fatalf("GetRole: %v", err)
		}
		if *got != *want {
			f.Errorf("GetRole = %+v, want %+v", *got, *want)
		}
	}
}

func rolesListOrder(f *fixture) {
	roles, err := f.s.ListRoles(f.ctx)
	if err != nil {
		f.Fatalf("ListRoles on an empty store: %v", err)
	}
	if len(roles) != 0 {
		f.Errorf("ListRoles on an empty store: %d roles", len(roles))
	}
	var want []*store.Role
	for _, name := range []string{"viewer", "admin", "editor", "admin", "author"} {
		want = append(want, f.role(name))
	}
	slices.SortFunc(want, func(a, b *store.Role) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	got, err := f.s.ListRoles(f.ctx)
	if err != nil {
		f.Fatalf("ListRoles: %v", err)
	}
	if len(got) != len(want) {
		f.Fatalf("ListRoles: %d roles, want %d", len(got), len(want))
	}
	for i := range got {
		if *got[i] != *want[i] {
			f.Errorf("ListRoles[%d] = %+v, want %+v (order: Name, then ID)", i, *got[i], *want[i])
		}
	}
}

func rolesNotFound(f *fixture) {
	_, err := f.s.GetRole(f.ctx, newID())
	f.wantErr("GetRole on an empty store", err, store.ErrNotFound)
	f.role("editor")
	_, err = f.s.GetRole(f.ctx, newID())
	f.wantErr("GetRole of an unknown id", err, store.ErrNotFound)
}

func rolesDuplicateID(f *fixture) {
	r := f.role("editor")
	dup := &store.Role{ID: r.ID, Name: "impostor", AdminAccess: true}
	f.wantErr("CreateRole with an existing id", f.s.CreateRole(f.ctx, dup), store.ErrDuplicateID)
	got, err := f.s.GetRole(f.ctx, r.ID)
	if err != nil {
		f.Fatalf("GetRole: %v", err)
	}
	if *got != *r {
		f.Errorf("GetRole after a duplicate CreateRole = %+v, want %+v", *got, *r)
	}
	if roles, err := f.s.ListRoles(f.ctx); err != nil || len(roles) != 1 {
		f.Errorf("ListRoles after a duplicate CreateRole: %d roles, %v; want 1", len(roles), err)
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
	slices.SortFunc(want, func(a, b *store.Role) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
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

func policiesCreateGet(f *fixture) {
	p := newPolicy("Administrator")
	p.AdminAccess = true
	if err := f.s.CreatePolicy(f.ctx, p); err != nil {
		f.Fatalf("CreatePolicy: %v", err)
	}
	plain := f.policy("content")
	for _, want := range []*store.Policy{p, plain} {
		got, err := f.s.GetPolicy(f.ctx, want.ID)
		if err != nil {
			f.Fatalf("GetPolicy: %v", err)
		}
		if *got != *want {
			f.Errorf("GetPolicy = %+v, want %+v", *got, *want)
		}
	}
}

func policiesListOrder(f *fixture) {
	ps, err := f.s.ListPolicies(f.ctx)
	if err != nil {
		f.Fatalf("ListPolicies on an empty store: %v", err)
	}
	if len(ps) != 0 {
		f.Errorf("ListPolicies on an empty store: %d policies", len(ps))
	}
	var want []*store.Policy
	for _, name := range []string{"files", "content", "public", "content"} {
		want = append(want, f.policy(name))
	}
	slices.SortFunc(want, func(a, b *store.Policy) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	got, err := f.s.ListPolicies(f.ctx)
	if err != nil {
		f.Fatalf("ListPolicies: %v", err)
	}
	if len(got) != len(want) {
		f.Fatalf("ListPolicies: %d policies, want %d", len(got), len(want))
	}
	for i := range got {
		if *got[i] != *want[i] {
			f.Errorf("ListPolicies[%d] = %+v, want %+v (order: Name, then ID)", i, *got[i], *want[i])
		}
	}
}

func policiesNotFound(f *fixture) {
	_, err := f.s.GetPolicy(f.ctx, newID())
	f.wantErr("GetPolicy on an empty store", err, store.ErrNotFound)
	f.policy("content")
	_, err = f.s.GetPolicy(f.ctx, newID())
	f.wantErr("GetPolicy of an unknown id", err, store.ErrNotFound)
}

func policiesDuplicateID(f *fixture) {
	p := f.policy("content")
	f.wantErr("CreatePolicy with an existing id", f.s.CreatePolicy(f.ctx, &store.Policy{ID: p.ID, Name: "impostor", AdminAccess: true}), store.ErrDuplicateID)
	got, err := f.s.GetPolicy(f.ctx, p.ID)
	if err != nil {
		f.Fatalf("GetPolicy: %v", err)
	}
	if *got != *p {
		f.Errorf("GetPolicy after a duplicate CreatePolicy = %+v, want %+v", *got, *p)
	}
	if ps, err := f.s.ListPolicies(f.ctx); err != nil || len(ps) != 1 {
		f.Errorf("ListPolicies after a duplicate CreatePolicy: %d policies, %v; want 1", len(ps), err)
	}
}
