package storetest

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Errors

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

// ---------------------------------------------------------------------------
// Copies: records going in and coming out are not shared with the Store.

func copiesUser(f *fixture) {
	r, other := f.role("editor"), f.role("viewer")
	p, otherP := f.policy("a"), f.policy("b")
	u := newUser("alice@example.com")
	u.Role = ptr(r.ID)
	u.Policies = []string{p.ID}
	u.Metadata = map[string]any{"plan": "pro", "address": map[string]any{"city": "Oxford"}, "tags": []any{"x"}}
	want := clone(u)
	f.createUser(u)

	// Changing what was passed in changes nothing stored.
	*u.Role = other.ID
	u.Policies[0] = otherP.ID
	u.Metadata["plan"] = "free"
	u.Metadata["address"].(map[string]any)["city"] = "Cambridge"
	u.Metadata["tags"].([]any)[0] = "y"
	u.FirstName = "Changed"
	f.checkUser("GetUser after changing the record passed to CreateUser", f.getUser(want.ID), want)

	// Changing what came out changes nothing stored.
	mutate := func(got *store.User) {
		if got.Role != nil {
			*got.Role = other.ID
		}
		if len(got.Policies) > 0 {
			got.Policies[0] = otherP.ID
		}
		if got.Metadata != nil {
			got.Metadata["plan"] = "free"
			if a, ok := got.Metadata["address"].(map[string]any); ok {
				a["city"] = "Cambridge"
			}
			if t, ok := got.Metadata["tags"].([]any); ok && len(t) > 0 {
				t[0] = "y"
			}
		}
		got.FirstName = "Changed"
	}
	mutate(f.getUser(want.ID))
	f.checkUser("GetUser after changing what GetUser returned", f.getUser(want.ID), want)
	byKey, err := f.s.GetUserByEmailKey(f.ctx, want.EmailKey)
	if err != nil {
		f.Fatalf("GetUserByEmailKey: %v", err)
	}
	mutate(byKey)
	for _, got := range f.listUsers(store.UserQuery{}) {
		mutate(got)
	}
	f.checkUser("GetUser after changing what GetUserByEmailKey and ListUsers returned", f.getUser(want.ID), want)

	// The slices and maps of a change are not kept either.
	ch := store.UserChange{SetRole: true, Role: ptr(r.ID), SetPolicies: true, Policies: []string{p.ID}, Metadata: map[string]any{"plan": "team"}, UpdatedAt: base.Add(time.Minute)}
	mutate(f.update(want.ID, ch, store.Effects{}))
	*ch.Role = other.ID
	ch.Policies[0] = otherP.ID
	ch.Metadata["plan"] = "free"
	want.Metadata, want.UpdatedAt = map[string]any{"plan": "team"}, ch.UpdatedAt
	f.checkUser("GetUser after changing the UserChange passed to UpdateUser and its result", f.getUser(want.ID), want)
}

func copiesRoleAndPolicy(f *fixture) {
	catalogCopies(f, roleCatalog())
	catalogCopies(f, policyCatalog())
}

func copiesToken(f *fixture) {
	u := f.user("alice@example.com")
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	want := *tok
	want.Hash = slices.Clone(tok.Hash)
	f.issue(tok)
	tok.Hash[0] ^= 0xff
	tok.UserID = "changed"
	got := f.getToken(want.Hash)
	got.Hash[1] ^= 0xff
	got.Purpose = store.PurposePasswordReset
	f.checkToken("GetToken after changing records passed in and returned", f.getToken(want.Hash), &want)

	now := base.Add(time.Minute)
	if _, err := f.s.ConsumeToken(f.ctx, want.Hash, want.Purpose, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	got = f.getToken(want.Hash)
	*got.ConsumedAt = base.Add(-day)
	if got := f.getToken(want.Hash); got.ConsumedAt == nil || timeDiff(*got.ConsumedAt, now) != "" {
		f.Errorf("ConsumedAt after changing the returned one = %v, want %v", got.ConsumedAt, now)
	}
}

func copiesMail(f *fixture) {
	u := f.mailUser()
	m := newMail(u.ID, u.Email, base)
	want := *m
	f.enqueue(m)
	m.Subject = "changed"
	until := base.Add(time.Minute)
	for _, got := range f.claim(base, until, 10) {
		got.Subject = "changed"
		*got.LeaseUntil = base.Add(-day)
	}
	for _, got := range f.listMail(store.MailQuery{}) {
		got.Subject = "changed"
		if got.LeaseUntil != nil {
			*got.LeaseUntil = base.Add(-day)
		}
	}
	want.LeaseUntil = &until
	ms := f.listMail(store.MailQuery{})
	if len(ms) != 1 {
		f.Fatalf("ListMail: %d mails, want 1", len(ms))
	}
	f.checkMail("mail after changing records passed in and returned", ms[0], &want)

	sentAt := base.Add(time.Second)
	mu := store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: base, SentAt: &sentAt}
	if err := f.s.UpdateMail(f.ctx, m.ID, mu); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	*mu.SentAt = base.Add(day)
	got := f.onlyMail()
	if got.SentAt == nil || timeDiff(*got.SentAt, base.Add(time.Second)) != "" {
		f.Errorf("SentAt after changing the MailUpdate's = %v, want %v", got.SentAt, base.Add(time.Second))
	}
}

func copiesSettings(f *fixture) {
	doc := []byte(`{"public_registration":true}`)
	want := string(doc)
	if err := f.s.SaveSettings(f.ctx, doc); err != nil {
		f.Fatalf("SaveSettings: %v", err)
	}
	doc[2] = 'X'
	got, err := f.s.Settings(f.ctx)
	if err != nil {
		f.Fatalf("Settings: %v", err)
	}
	if string(got) != want {
		f.Errorf("Settings after changing the saved slice = %s, want %s", got, want)
	}
	if len(got) > 2 {
		got[2] = 'Y'
	}
	if got, _ := f.s.Settings(f.ctx); string(got) != want {
		f.Errorf("Settings after changing the returned slice = %s, want %s", got, want)
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

	renewed, nu, err := f.s.RenewSession(f.ctx, want.ID, 0, now, time.Second, store.Condition{})
	if err != nil {
		f.Fatalf("RenewSession: %v", err)
	}
	renewed.TokenHash[2] ^= 0xff
	renewed.UserAgent = "changed"
	nu.FirstName = "changed"
	want.Generation, want.RefreshedAt = 1, now
	f.checkSession("GetSession after changing RenewSession's result", f.getSession(want.ID), want)
	f.checkUser("user after changing RenewSession's user", f.getUser(u.ID), u)
}

// cloneBytes returns a copy of b.
func cloneBytes(b []byte) []byte { return append([]byte(nil), b...) }

// ---------------------------------------------------------------------------
// Context

func contextCancelled(f *fixture) {
	r := f.role("editor")
	p := f.policy("content")
	u, tok := f.unverified("alice@example.com")
	m := newMail(u.ID, u.Email, base)
	f.enqueue(m)
	sess := f.session(u.ID)
	expiring := newSession(u.ID)
	expiring.ExpiresAt = base.Add(time.Minute)
	if err := f.s.CreateSession(f.ctx, expiring, store.Condition{}); err != nil {
		f.Fatalf("CreateSession: %v", err)
	}
	before := f.getUser(u.ID)

	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	check := func(method string, err error) {
		f.Helper()
		if !errors.Is(err, context.Canceled) {
			f.Errorf("%s with a cancelled context: err = %v, want one matching context.Canceled", method, err)
		}
	}
	now := base.Add(time.Minute)

	// Writes.
	nu := newUser("bob@example.com")
	nuTok := newToken(nu.ID, store.PurposeVerifyEmail, base.Add(day))
	check("CreateUser", f.s.CreateUser(ctx, nu, store.Effects{Token: nuTok, Mail: newMail(nu.ID, nu.Email, base)}))
	upTok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	_, err := f.s.UpdateUser(ctx, u.ID, store.Condition{}, store.UserChange{FirstName: ptr("Changed"), UpdatedAt: now}, store.Effects{Token: upTok, Mail: newMail(u.ID, u.Email, now)})
	check("UpdateUser", err)
	check("UpdateUsers", f.s.UpdateUsers(ctx, []string{u.ID}, store.Condition{}, store.UserChange{SetRole: true, Role: ptr(r.ID), SetPolicies: true, Policies: []string{p.ID}, UpdatedAt: now}))
	_, err = f.s.ConsumeToken(ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{Mail: newMail(u.ID, u.Email, now)})
	check("ConsumeToken", err)
	nr := newRole("viewer")
	check("CreateRole", f.s.CreateRole(ctx, nr))
	np := newPolicy("files")
	check("CreatePolicy", f.s.CreatePolicy(ctx, np))
	check("SaveSettings", f.s.SaveSettings(ctx, []byte(`{"public_registration":true}`)))
	_, err = f.s.ClaimMail(ctx, now, now.Add(time.Hour), 10)
	check("ClaimMail", err)
	check("UpdateMail", f.s.UpdateMail(ctx, m.ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: now, SentAt: &now, ClearBody: true}))
	check("DeleteUsers", f.s.DeleteUsers(ctx, []string{u.ID}, store.Condition{}))
	ns := newSession(u.ID)
	check("CreateSession", f.s.CreateSession(ctx, ns, store.Condition{}))
	rotated := newHash()
	_, _, err = f.s.RotateSession(ctx, sess.TokenHash, rotated, now, now.Add(day), store.Condition{})
	check("RotateSession", err)
	_, _, err = f.s.RenewSession(ctx, sess.ID, 0, now, renewGrace, store.Condition{})
	check("RenewSession", err)
	check("DeleteSession", f.s.DeleteSession(ctx, sess.ID))
	check("DeleteSessionByToken", f.s.DeleteSessionByToken(ctx, sess.TokenHash))
	_, err = f.s.PurgeExpired(ctx, now.Add(30*day))
	check("PurgeExpired", err)
	_, err = f.s.UpdateUser(ctx, u.ID, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{RevokeTokens: []store.Purpose{store.PurposeVerifyEmail}, EndSessions: true})
	check("UpdateUser with RevokeTokens and EndSessions", err)

	// Reads.
	_, err = f.s.GetUser(ctx, u.ID)
	check("GetUser", err)
	_, err = f.s.GetUserByEmailKey(ctx, u.EmailKey)
	check("GetUserByEmailKey", err)
	_, err = f.s.ListUsers(ctx, store.UserQuery{})
	check("ListUsers", err)
	_, err = f.s.GetToken(ctx, tok.Hash)
	check("GetToken", err)
	_, err = f.s.GetRole(ctx, r.ID)
	check("GetRole", err)
	_, err = f.s.ListRoles(ctx)
	check("ListRoles", err)
	_, err = f.s.GetPolicy(ctx, p.ID)
	check("GetPolicy", err)
	_, err = f.s.ListPolicies(ctx)
	check("ListPolicies", err)
	_, err = f.s.Settings(ctx)
	check("Settings", err)
	_, err = f.s.ListMail(ctx, store.MailQuery{})
	check("ListMail", err)
	_, err = f.s.CountUsers(ctx, store.UserQuery{})
	check("CountUsers", err)
	_, err = f.s.ListUsers(ctx, store.UserQuery{Filter: cond(store.FieldEmail, store.OpIContains, "a"), Search: "a", Sort: []store.Sort{{Field: store.FieldEmail}}})
	check("ListUsers with Filter, Search and Sort", err)
	_, err = f.s.MailStats(ctx)
	check("MailStats", err)
	_, err = f.s.GetSession(ctx, sess.ID)
	check("GetSession", err)

	// Nothing was written.
	f.userGone(nu.ID, "CreateUser with a cancelled context")
	f.tokenGone(nuTok.Hash, "CreateUser with a cancelled context")
	f.tokenGone(upTok.Hash, "UpdateUser with a cancelled context")
	f.checkUser("user after writes with a cancelled context", f.getUser(u.ID), before)
	f.tokenLive(tok.Hash, "ConsumeToken with a cancelled context")
	if _, err := f.s.GetRole(f.ctx, nr.ID); !errors.Is(err, store.ErrNotFound) {
		f.Errorf("GetRole of the role created with a cancelled context: %v, want ErrNotFound", err)
	}
	if _, err := f.s.GetPolicy(f.ctx, np.ID); !errors.Is(err, store.ErrNotFound) {
		f.Errorf("GetPolicy of the policy created with a cancelled context: %v, want ErrNotFound", err)
	}
	if doc, err := f.s.Settings(f.ctx); err != nil || doc != nil {
		f.Errorf("Settings after SaveSettings with a cancelled context = %q, %v; want nil, nil", doc, err)
	}
	ms := f.listMail(store.MailQuery{})
	f.checkIDs("ListMail after writes with a cancelled context", mailIDs(ms), []string{m.ID})
	if len(ms) == 1 {
		f.checkMail("mail after ClaimMail and UpdateMail with a cancelled context", ms[0], m)
	}
	f.sessionGone(ns.ID, "CreateSession with a cancelled context")
	f.sessionIs(sess, "session after RotateSession, RenewSession, DeleteSession and DeleteSessionByToken with a cancelled context")
	f.sessionIs(expiring, "session after PurgeExpired with a cancelled context")
	f.hashUnknown(rotated, "the new hash of RotateSession with a cancelled context")
	f.checkIDs("ClaimMail after ClaimMail with a cancelled context", mailIDs(f.claim(now, now.Add(time.Minute), 10)), []string{m.ID})
}

// ---------------------------------------------------------------------------
// Timestamps

func timestampsUTC(f *fixture) {
	zone := time.FixedZone("storetest+0530", 5*3600+30*60)
	at := time.Date(2026, 1, 2, 8, 34, 5, 123456789, zone) // 03:04:05.123456789 UTC
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	u.CreatedAt, u.UpdatedAt = at, at.Add(time.Second)
	tok := newToken(u.ID, store.PurposeVerifyEmail, time.Date(2026, 1, 3, 8, 34, 5, 250_000_000, zone))
	tok.CreatedAt = at
	f.createUserFx(u, store.Effects{Token: tok})

	f.checkUser("GetUser of a user created with non-UTC times", f.getUser(u.ID), u)
	if got, err := f.s.GetUserByEmailKey(f.ctx, u.EmailKey); err == nil {
		f.checkUser("GetUserByEmailKey", got, u)
	} else {
		f.Errorf("GetUserByEmailKey: %v", err)
	}
	if us := f.listUsers(store.UserQuery{}); len(us) == 1 {
		f.checkUser("ListUsers", us[0], u)
	}
	f.checkToken("GetToken of a token with non-UTC times", f.getToken(tok.Hash), tok)

	later := at.Add(time.Hour + 456*time.Microsecond)
	got := f.update(u.ID, store.UserChange{FirstName: ptr("Later"), UpdatedAt: later}, store.Effects{})
	if s := timeDiff(got.UpdatedAt, later); s != "" {
		f.Errorf("UpdateUser result UpdatedAt %s", s)
	}

	// Expiry compares instants, whatever the zone: a millisecond before
	// (given in UTC) is live, the instant itself is expired.
	_, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, tok.ExpiresAt.UTC(), store.Condition{}, activate(), store.Effects{})
	f.wantErr("ConsumeToken at ExpiresAt given in UTC", err, store.ErrTokenExpired)
	now := tok.ExpiresAt.Add(-time.Millisecond).UTC()
	if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{}); err != nil {
		f.Errorf("ConsumeToken a millisecond before ExpiresAt, given in UTC: %v", err)
	}
	consumed := f.getToken(tok.Hash)
	if consumed.ConsumedAt == nil || timeDiff(*consumed.ConsumedAt, now) != "" {
		f.Errorf("ConsumedAt = %v, want %v in UTC", consumed.ConsumedAt, now)
	}

	m := newMail(u.ID, u.Email, at)
	m.NextAttemptAt = at.Add(time.Minute)
	f.enqueue(m)
	f.checkMail("ListMail of a mail with non-UTC times", f.onlyMail(), m)
	claimAt := at.Add(2 * time.Minute)
	until := at.Add(3*time.Minute + 789*time.Microsecond)
	if claimed := f.claim(claimAt, until, 10); len(claimed) == 1 {
		if claimed[0].LeaseUntil == nil || timeDiff(*claimed[0].LeaseUntil, until) != "" {
			f.Errorf("claimed mail: LeaseUntil = %v, want %v in UTC", claimed[0].LeaseUntil, until.UTC())
		}
	} else {
		f.Errorf("ClaimMail: %d mails, want 1", len(claimed))
	}
	sentAt := at.Add(4 * time.Minute)
	next := at.Add(5 * time.Minute)
	if err := f.s.UpdateMail(f.ctx, m.ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: next, SentAt: &sentAt}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	want := *m
	want.Status, want.Attempts, want.NextAttemptAt, want.SentAt = store.MailSent, 1, next, &sentAt
	f.checkMail("ListMail after UpdateMail with non-UTC times", f.onlyMail(), &want)
}
