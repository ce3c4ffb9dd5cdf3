package storetest

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Tokens bound to an address; Unicode and nesting; Message-ID; MailStats;
// errors without hashes; copies of sessions.

func tokenEmailKeyRoundTrip(f *fixture) {
	u := newUser("Alice@Example.com")
	u.Status = store.StatusUnverified
	bound := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	bound.EmailKey = u.EmailKey
	f.createUserFx(u, store.Effects{Token: bound})
	f.checkToken("GetToken of a token bound to an address (CreateUser)", f.getToken(bound.Hash), bound)

	unbound := newToken(u.ID, store.PurposeInvite, base.Add(day))
	f.issue(unbound)
	f.checkToken("GetToken of a token bound to no address", f.getToken(unbound.Hash), unbound)

	// A token issued by ConsumeToken keeps its address too, and so does a
	// consumed one.
	now := base.Add(time.Minute)
	next := newToken(u.ID, store.PurposePasswordReset, base.Add(day))
	next.EmailKey = "ünïcødé@exämple.com"
	if _, err := f.s.ConsumeToken(f.ctx, bound.Hash, store.PurposeVerifyEmail, now, store.Condition{EmailKey: ptr(bound.EmailKey)}, activate(), store.Effects{Token: next}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	f.checkToken("GetToken of a token issued by ConsumeToken", f.getToken(next.Hash), next)
	consumed := *bound
	consumed.ConsumedAt = &now
	f.checkToken("GetToken of the consumed token", f.getToken(bound.Hash), &consumed)
}

// unicodeSamples are strings a store must keep byte for byte: emoji (with
// a zero-width joiner and a skin-tone modifier), right-to-left scripts
// with embedding marks, combining marks that NFC would compose, CJK.
var unicodeSamples = []string{
	"👩🏽‍💻 🇺🇦 ✓",
	"مرحبا بالعالم",
	"שָׁלוֹם \u202bעולם\u202c",
	"e\u0301le\u0300ve cafe\u0301 A\u030a",
	"Zoë Ångström — «naïve» ‘quotes’",
	"管理者のメモ 한국어",
	"\u200bzero\u200dwidth\ufeff",
}

// metaDepth is how deeply the suite nests metadata: objects and arrays
// 32 levels deep, counting the metadata object itself.
const metaDepth = 32

// nested returns an object depth levels deep (itself the first),
// alternating objects and arrays, with a Unicode leaf.
func nested(depth int) map[string]any {
	var v any = "leaf ✓ 🌿"
	for i := depth - 1; i > 0; i-- {
		if i%2 == 0 {
			v = []any{v, float64(i)}
		} else {
			v = map[string]any{fmt.Sprintf("ниво-%d", i): v, "n": float64(i)}
		}
	}
	return map[string]any{"deep": v}
}

// depthOf returns how deeply v nests objects and arrays.
func depthOf(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d = max(d, depthOf(e))
		}
	case []any:
		for _, e := range v {
			d = max(d, depthOf(e))
		}
	default:
		return 0
	}
	return d + 1
}

func updateUserUnicodeAndDeepMetadata(f *fixture) {
	meta := map[string]any{"nested": nested(metaDepth - 1)}
	for i, s := range unicodeSamples {
		meta[fmt.Sprintf("text-%d-%s", i, s)] = s
	}
	meta["list"] = slices.Collect(func(yield func(any) bool) {
		for _, s := range unicodeSamples {
			if !yield(s) {
				return
			}
		}
	})
	if d := depthOf(meta); d != metaDepth {
		f.Fatalf("suite bug: metadata %d levels deep, want %d", d, metaDepth)
	}
	u := newUser("ünïcødé@exämple.com")
	u.FirstName, u.LastName = unicodeSamples[3], unicodeSamples[1]
	u.Metadata = meta
	want := clone(u)
	f.createUser(u)
	f.checkUser("GetUser of a user with Unicode names and metadata nested 32 levels deep", f.getUser(u.ID), want)
	if us := f.listUsers(store.UserQuery{}); len(us) == 1 {
		f.checkUser("ListUsers of it", us[0], want)
	}
	byKey, err := f.s.GetUserByEmailKey(f.ctx, u.EmailKey)
	if err != nil {
		f.Fatalf("GetUserByEmailKey of a Unicode email key: %v", err)
	}
	f.checkUser("GetUserByEmailKey of it", byKey, want)

	for i, s := range unicodeSamples {
		at := base.Add(time.Duration(i+1) * time.Minute)
		m := map[string]any{"s": s, s: nested(metaDepth - 1)}
		if d := depthOf(m); d != metaDepth {
			f.Fatalf("suite bug: metadata %d levels deep, want %d", d, metaDepth)
		}
		got := f.update(u.ID, store.UserChange{FirstName: ptr(s), LastName: ptr(strings.ToUpper(s)), Metadata: m, UpdatedAt: at}, store.Effects{})
		want.FirstName, want.LastName, want.Metadata, want.UpdatedAt = s, strings.ToUpper(s), m, at
		f.checkUser(fmt.Sprintf("UpdateUser with Unicode sample %d", i), got, want)
		f.checkUser(fmt.Sprintf("GetUser after UpdateUser with Unicode sample %d", i), f.getUser(u.ID), want)
	}
	// Search and filters find the combining-mark name as it was written,
	// not composed.
	f.update(u.ID, store.UserChange{FirstName: ptr(unicodeSamples[3]), UpdatedAt: base.Add(time.Hour)}, store.Effects{})
	f.checkQuery("Search for a decomposed name", store.UserQuery{Search: "e\u0301le\u0300ve"}, []string{u.ID})
	f.checkQuery("Search for its composed form", store.UserQuery{Search: "élève"}, nil)
	f.checkQuery("filter _eq on a decomposed name", store.UserQuery{Filter: cond(store.FieldFirstName, store.OpEq, unicodeSamples[3])}, []string{u.ID})
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

func mailMessageIDKept(f *fixture) {
	u := f.mailUser()
	with := newMail(u.ID, u.Email, base)
	with.MessageID = "<20260102030405.a1b2c3@users.example.com>"
	without := newMail(u.ID, u.Email, base.Add(time.Second))
	without.MessageID = ""
	f.enqueue(with)
	f.enqueue(without)
	claimed := f.claim(base.Add(time.Second), base.Add(time.Hour), 10)
	if len(claimed) != 2 {
		f.Fatalf("ClaimMail: %d mails, want 2", len(claimed))
	}
	for i, want := range []*store.Mail{with, without} {
		if claimed[i].MessageID != want.MessageID {
			f.Errorf("claimed mail %d: MessageID = %q, want %q", i, claimed[i].MessageID, want.MessageID)
		}
	}
	// A failed attempt and a retry keep it; so does a sent mail whose body
	// was cleared.
	if err := f.s.UpdateMail(f.ctx, with.ID, store.MailUpdate{Status: store.MailPending, Attempts: 1, LastError: "421", NextAttemptAt: base.Add(2 * time.Minute)}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	again := f.claim(base.Add(2*time.Minute), base.Add(3*time.Minute), 10)
	if len(again) != 1 || again[0].ID != with.ID || again[0].MessageID != with.MessageID {
		f.Errorf("ClaimMail after a failed attempt: %d mails; want mail %s with MessageID %q", len(again), with.ID, with.MessageID)
	}
	sentAt := base.Add(3 * time.Minute)
	if err := f.s.UpdateMail(f.ctx, with.ID, store.MailUpdate{Status: store.MailSent, Attempts: 2, NextAttemptAt: base.Add(2 * time.Minute), SentAt: &sentAt, ClearBody: true}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	for _, m := range f.listMail(store.MailQuery{}) {
		want := with.MessageID
		if m.ID == without.ID {
			want = ""
		}
		if m.MessageID != want {
			f.Errorf("ListMail: mail %s MessageID = %q, want %q", m.ID, m.MessageID, want)
		}
	}
}

func mailStats(f *fixture) {
	stats := func() store.MailStats {
		f.Helper()
		st, err := f.s.MailStats(f.ctx)
		if err != nil {
			f.Fatalf("MailStats: %v", err)
		}
		return st
	}
	check := func(what string, pending, failed int, oldest *time.Time) {
		f.Helper()
		st := stats()
		if st.Pending != pending || st.Failed != failed {
			f.Errorf("%s: MailStats = %d pending, %d failed; want %d, %d", what, st.Pending, st.Failed, pending, failed)
		}
		var d differ
		d.timePtr("OldestPending", st.OldestPending, oldest)
		for _, s := range d {
			f.Errorf("%s: MailStats %s", what, s)
		}
	}
	check("empty outbox", 0, 0, nil)
	u := f.mailUser()
	var ms []*store.Mail
	for _, off := range []time.Duration{3 * time.Minute, -time.Hour, time.Minute, 2 * time.Minute, 5 * time.Minute, 4 * time.Minute} {
		m := newMail(u.ID, u.Email, base.Add(off))
		m.NextAttemptAt = base.Add(-2 * time.Hour)
		f.enqueue(m)
		ms = append(ms, m)
	}
	check("six pending mails", 6, 0, ptr(base.Add(-time.Hour)))
	// A lease does not change a mail's state.
	f.claim(base, base.Add(time.Hour), 2)
	check("six pending mails, two leased", 6, 0, ptr(base.Add(-time.Hour)))
	// The oldest is sent, two fail.
	if err := f.s.UpdateMail(f.ctx, ms[1].ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: base, SentAt: ptr(base)}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	for _, m := range []*store.Mail{ms[2], ms[5]} {
		if err := f.s.UpdateMail(f.ctx, m.ID, store.MailUpdate{Status: store.MailFailed, Attempts: 5, LastError: "550", NextAttemptAt: base}); err != nil {
			f.Fatalf("UpdateMail: %v", err)
		}
	}
	check("three pending, one sent, two failed", 3, 2, ptr(base.Add(2*time.Minute)))
	for _, m := range []*store.Mail{ms[0], ms[3], ms[4]} {
		if err := f.s.UpdateMail(f.ctx, m.ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: base, SentAt: ptr(base)}); err != nil {
			f.Fatalf("UpdateMail: %v", err)
		}
	}
	check("none pending", 0, 2, nil)
}

// hashForms are the spellings of hash an error must not contain.
func hashForms(hash []byte) []string {
	return []string{
		hex.EncodeToString(hash), strings.ToUpper(hex.EncodeToString(hash)),
		base64.StdEncoding.EncodeToString(hash), base64.RawURLEncoding.EncodeToString(hash),
		fmt.Sprint(hash), fmt.Sprintf("%q", hash), string(hash),
	}
}

// errorsNoHashes: the errors of the methods that take a token or session
// hash never spell the hash out.
func errorsNoHashes(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	s := f.session(u.ID)
	earlier := f.rotate(s, base.Add(time.Minute))
	expired := f.session(u.ID)
	unknown := newHash()
	now := base.Add(2 * time.Minute)
	type call struct {
		what string
		hash []byte
		err  error
	}
	var calls []call
	add := func(what string, hash []byte, err error) {
		if err == nil {
			f.Errorf("%s succeeded; the clause needs it to fail", what)
			return
		}
		calls = append(calls, call{what, hash, err})
	}
	_, err := f.s.GetToken(f.ctx, unknown)
	add("GetToken of an unknown hash", unknown, err)
	_, err = f.s.ConsumeToken(f.ctx, unknown, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{})
	add("ConsumeToken of an unknown hash", unknown, err)
	_, err = f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeInvite, now, store.Condition{}, activate(), store.Effects{})
	add("ConsumeToken with another purpose", tok.Hash, err)
	_, err = f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, tok.ExpiresAt, store.Condition{}, activate(), store.Effects{})
	add("ConsumeToken of an expired token", tok.Hash, err)
	_, err = f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusSuspended}, activate(), store.Effects{})
	add("ConsumeToken whose condition fails", tok.Hash, err)
	if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	_, err = f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{})
	add("ConsumeToken of a used token", tok.Hash, err)
	dupTok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	dupTok.Hash = tok.Hash
	_, err = f.s.UpdateUser(f.ctx, u.ID, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{Token: dupTok})
	add("UpdateUser inserting a token whose hash exists", tok.Hash, err)

	_, _, err = f.s.RotateSession(f.ctx, unknown, newHash(), now, now.Add(day), store.Condition{})
	add("RotateSession of an unknown hash", unknown, err)
	_, _, err = f.s.RotateSession(f.ctx, expired.TokenHash, newHash(), expired.ExpiresAt, expired.ExpiresAt.Add(day), store.Condition{})
	add("RotateSession of an expired session", expired.TokenHash, err)
	_, _, err = f.s.RotateSession(f.ctx, s.TokenHash, newHash(), now, now.Add(day), store.Condition{Status: store.StatusSuspended})
	add("RotateSession whose condition fails", s.TokenHash, err)
	dup := newSession(u.ID)
	dup.TokenHash = s.TokenHash
	add("CreateSession with a token hash in use", s.TokenHash, f.s.CreateSession(f.ctx, dup, store.Condition{}))
	add("DeleteSessionByToken of an unknown hash", unknown, f.s.DeleteSessionByToken(f.ctx, unknown))
	_, _, err = f.s.RotateSession(f.ctx, earlier, newHash(), now, now.Add(day), store.Condition{})
	add("RotateSession of a reused token", earlier, err)

	for _, c := range calls {
		msg := c.err.Error()
		for _, form := range hashForms(c.hash) {
			if strings.Contains(msg, form) {
				f.Errorf("%s: the error %q spells out the hash (%q)", c.what, msg, form)
			}
		}
	}
}

func copiesSession(f *fixture) {
	u := f.user("alice@example.com")
	s := newSession(u.ID)
	want := cloneSession(s)
	if err := f.s.CreateSession(f.ctx, s, store.Condition{}); err != nil {
		f.Fatalf("CreateSession: %v", err)
	}
	s.TokenHash[0] ^= 0xff
	s.IP = "changed"
	got := f.getSession(want.ID)
	got.TokenHash[1] ^= 0xff
	got.UserAgent = "changed"
	f.checkSession("GetSession after changing the records passed in and returned", f.getSession(want.ID), want)

	next := newHash()
	nextWant := cloneBytes(next)
	now := base.Add(time.Minute)
	rotated, ru, err := f.s.RotateSession(f.ctx, want.TokenHash, next, now, now.Add(day), store.Condition{})
	if err != nil {
		f.Fatalf("RotateSession: %v", err)
	}
	next[0] ^= 0xff
	rotated.TokenHash[2] ^= 0xff
	ru.FirstName = "changed"
	want.TokenHash, want.RefreshedAt, want.ExpiresAt = nextWant, now, now.Add(day)
	f.checkSession("GetSession after changing the hash passed to RotateSession and its result", f.getSession(want.ID), want)
	f.checkUser("user after changing RotateSession's user", f.getUser(u.ID), u)
}

// cloneBytes returns a copy of b.
func cloneBytes(b []byte) []byte { return append([]byte(nil), b...) }
