package storetest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Mail outbox

func (f *fixture) mailUser() *store.User {
	f.Helper()
	return f.user("mail@example.com")
}

func mailRoundTrip(f *fixture) {
	u := f.mailUser()
	m := newMail(u.ID, "Mail@Example.com", base.Add(-time.Hour))
	m.Kind = "invite"
	m.Subject = "You've been invited"
	m.Text = "Line one\nLine two — «quoted» ✓"
	m.HTML = "<p>Hello &amp; <b>welcome</b></p>"
	m.NextAttemptAt = base.Add(time.Hour)
	f.enqueue(m)
	ms := f.listMail(store.MailQuery{})
	if len(ms) != 1 {
		f.Fatalf("ListMail: %d mails, want 1", len(ms))
	}
	f.checkMail("ListMail", ms[0], m)
}

func mailClaimOrder(f *fixture) {
	u := f.mailUser()
	var all []*store.Mail
	offsets := []time.Duration{3 * time.Minute, 0, time.Minute, time.Minute, time.Minute, -time.Hour, 3 * time.Minute}
	for _, off := range offsets {
		m := newMail(u.ID, u.Email, base.Add(off))
		m.NextAttemptAt = base.Add(-2 * time.Hour) // all due
		f.enqueue(m)
		all = append(all, m)
	}
	slices.SortFunc(all, store.CompareMail)
	got := f.claim(base, base.Add(time.Minute), 100)
	f.checkIDs("ClaimMail order (CreatedAt, then ID)", mailIDs(got), mailIDs(all))
	f.checkIDs("ListMail order (CreatedAt, then ID)", mailIDs(f.listMail(store.MailQuery{})), mailIDs(all))
}

func mailClaimNextAttempt(f *fixture) {
	u := f.mailUser()
	due := newMail(u.ID, u.Email, base)
	later := newMail(u.ID, u.Email, base.Add(-time.Minute)) // older, but not yet due
	later.NextAttemptAt = base.Add(10 * time.Minute)
	f.enqueue(due)
	f.enqueue(later)
	until := base.Add(time.Hour) // a lease that outlasts the test

	f.checkIDs("ClaimMail before either is due", mailIDs(f.claim(base.Add(-time.Second), until, 10)), nil)
	f.checkIDs("ClaimMail at the first NextAttemptAt (at or before now)", mailIDs(f.claim(base, until, 10)), []string{due.ID})
	at := later.NextAttemptAt.Add(-time.Millisecond)
	f.checkIDs("ClaimMail just before the second is due", mailIDs(f.claim(at, until, 10)), nil)
	f.checkIDs("ClaimMail when the second is due", mailIDs(f.claim(later.NextAttemptAt, until, 10)), []string{later.ID})
}

func mailClaimLease(f *fixture) {
	u := f.mailUser()
	m := newMail(u.ID, u.Email, base)
	f.enqueue(m)
	until := base.Add(time.Minute)
	got := f.claim(base, until, 10)
	f.checkIDs("first ClaimMail", mailIDs(got), []string{m.ID})
	if len(got) == 1 {
		want := *m
		want.LeaseUntil = &until
		f.checkMail("claimed mail", got[0], &want)
		listed := f.listMail(store.MailQuery{})
		if len(listed) == 1 {
			f.checkMail("ListMail of a claimed mail (still pending, leased)", listed[0], &want)
		}
	}
	for _, now := range []time.Time{base, base.Add(30 * time.Second), until.Add(-time.Millisecond)} {
		f.checkIDs(fmt.Sprintf("ClaimMail at %v, lease until %v", now, until), mailIDs(f.claim(now, now.Add(time.Minute), 10)), nil)
	}
	// The worker died: once the lease has ended the mail is claimable again.
	until2 := until.Add(time.Minute)
	got = f.claim(until, until2, 10)
	f.checkIDs("ClaimMail when the lease has ended", mailIDs(got), []string{m.ID})
	if len(got) == 1 {
		if got[0].LeaseUntil == nil || timeDiff(*got[0].LeaseUntil, until2) != "" {
			f.Errorf("re-claimed mail: LeaseUntil = %v, want %v", got[0].LeaseUntil, until2)
		}
	}
	f.checkIDs("ClaimMail under the new lease", mailIDs(f.claim(until.Add(time.Second), until2, 10)), nil)
}

func mailClaimLimit(f *fixture) {
	u := f.mailUser()
	var all []*store.Mail
	for i := range 5 {
		m := newMail(u.ID, u.Email, base.Add(time.Duration(i)*time.Second))
		m.NextAttemptAt = base
		f.enqueue(m)
		all = append(all, m)
	}
	until := base.Add(time.Minute)
	f.checkIDs("ClaimMail limit 2", mailIDs(f.claim(base, until, 2)), mailIDs(all[:2]))
	f.checkIDs("second ClaimMail limit 2", mailIDs(f.claim(base, until, 2)), mailIDs(all[2:4]))
	f.checkIDs("third ClaimMail limit 2", mailIDs(f.claim(base, until, 2)), mailIDs(all[4:]))
	f.checkIDs("fourth ClaimMail limit 2", mailIDs(f.claim(base, until, 2)), nil)
}

func mailConcurrentClaim(f *fixture) {
	u := f.mailUser()
	const mails, workers = 100, 10
	for i := range mails {
		m := newMail(u.ID, u.Email, base.Add(time.Duration(i)*time.Millisecond))
		m.NextAttemptAt = base
		f.enqueue(m)
	}
	now, until := base.Add(time.Second), base.Add(time.Hour)
	claimed := make([][]string, workers)
	errs := make([]error, workers)
	endless := make([]bool, workers)
	// Every claim that returns mails leases at least one of them until
	// after now, so a store that respects its leases answers empty after
	// at most `mails` such claims in all: a worker that has not seen an
	// empty answer by then was handed leased mails again.
	f.race("concurrent ClaimMail", workers, func(ctx context.Context, w int) {
		for range mails + 1 {
			ms, err := f.s.ClaimMail(ctx, now, until, 3)
			if err != nil {
				errs[w] = err
				return
			}
			if len(ms) == 0 {
				return
			}
			for _, m := range ms {
				claimed[w] = append(claimed[w], m.ID)
			}
		}
		endless[w] = true
	})
	for w, e := range endless {
		if e {
			f.Errorf("worker %d: ClaimMail still returned mails after %d claims, with only %d mails in the outbox all leased until %v: ClaimMail hands out mails whose lease is running", w, mails+1, mails, until)
		}
	}
	for w, err := range errs {
		if err != nil {
			f.Errorf("worker %d: ClaimMail: %v", w, err)
		}
	}
	count := map[string]int{}
	for _, ids := range claimed {
		for _, id := range ids {
			count[id]++
		}
	}
	for id, n := range count {
		if n != 1 {
			f.Errorf("mail %s claimed %d times, want once", id, n)
		}
	}
	if len(count) != mails {
		f.Errorf("%d distinct mails claimed, want %d", len(count), mails)
	}
}

func mailUpdateRetryState(f *fixture) {
	u := f.mailUser()
	m := newMail(u.ID, u.Email, base)
	f.enqueue(m)
	got := f.claim(base, base.Add(time.Minute), 1)
	if len(got) != 1 {
		f.Fatalf("ClaimMail: %d mails, want 1", len(got))
	}

	// A failed attempt: pending again, retried later.
	retryAt := base.Add(5 * time.Minute)
	if err := f.s.UpdateMail(f.ctx, m.ID, store.MailUpdate{Status: store.MailPending, Attempts: 1, LastError: "421 try again later", NextAttemptAt: retryAt}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	want := *m
	want.Attempts, want.LastError, want.NextAttemptAt = 1, "421 try again later", retryAt
	f.checkMail("mail after a failed attempt (lease cleared)", f.onlyMail(), &want)
	f.checkIDs("ClaimMail before the retry is due", mailIDs(f.claim(retryAt.Add(-time.Second), retryAt.Add(time.Minute), 10)), nil)
	f.checkIDs("ClaimMail when the retry is due (its lease was cleared)", mailIDs(f.claim(retryAt, retryAt.Add(time.Minute), 10)), []string{m.ID})

	// Given up: failed mails are never claimed again.
	if err := f.s.UpdateMail(f.ctx, m.ID, store.MailUpdate{Status: store.MailFailed, Attempts: 5, LastError: "550 no such user", NextAttemptAt: retryAt}); err != nil {
		f.Fatalf("UpdateMail to failed: %v", err)
	}
	want.Status, want.Attempts, want.LastError = store.MailFailed, 5, "550 no such user"
	f.checkMail("failed mail", f.onlyMail(), &want)
	f.checkIDs("ClaimMail of a failed mail", mailIDs(f.claim(retryAt.Add(30*day), retryAt.Add(31*day), 10)), nil)

	// Sent with ClearBody: the body (which holds a live token) is gone.
	s := newMail(u.ID, u.Email, base.Add(time.Second))
	f.enqueue(s)
	f.claim(base.Add(time.Second), base.Add(time.Minute), 10)
	sentAt := base.Add(2 * time.Second)
	if err := f.s.UpdateMail(f.ctx, s.ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: s.NextAttemptAt, SentAt: &sentAt, ClearBody: true}); err != nil {
		f.Fatalf("UpdateMail to sent: %v", err)
	}
	wantSent := *s
	wantSent.Status, wantSent.Attempts, wantSent.SentAt, wantSent.Text, wantSent.HTML = store.MailSent, 1, &sentAt, "", ""
	sent := f.listMail(store.MailQuery{Status: store.MailSent})
	f.checkIDs("ListMail of sent mails", mailIDs(sent), []string{s.ID})
	if len(sent) == 1 {
		f.checkMail("sent mail with ClearBody", sent[0], &wantSent)
	}
	f.checkIDs("ClaimMail of a sent mail", mailIDs(f.claim(base.Add(30*day), base.Add(31*day), 10)), nil)

	// Sent without ClearBody keeps the body.
	k := newMail(u.ID, u.Email, base.Add(3*time.Second))
	f.enqueue(k)
	if err := f.s.UpdateMail(f.ctx, k.ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: k.NextAttemptAt, SentAt: &sentAt}); err != nil {
		f.Fatalf("UpdateMail to sent: %v", err)
	}
	wantKept := *k
	wantKept.Status, wantKept.Attempts, wantKept.SentAt = store.MailSent, 1, &sentAt
	for _, got := range f.listMail(store.MailQuery{Status: store.MailSent}) {
		if got.ID == k.ID {
			f.checkMail("sent mail without ClearBody", got, &wantKept)
		}
	}
}

func mailUpdateNotFound(f *fixture) {
	err := f.s.UpdateMail(f.ctx, newID(), store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: base, SentAt: ptr(base)})
	f.wantErr("UpdateMail on an empty store", err, store.ErrNotFound)
	u := f.mailUser()
	m := newMail(u.ID, u.Email, base)
	f.enqueue(m)
	err = f.s.UpdateMail(f.ctx, newID(), store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: base, SentAt: ptr(base)})
	f.wantErr("UpdateMail of an unknown id", err, store.ErrNotFound)
	f.checkMail("the existing mail", f.onlyMail(), m)
}

func mailList(f *fixture) {
	if ms := f.listMail(store.MailQuery{}); len(ms) != 0 {
		f.Errorf("ListMail on an empty store: %d mails", len(ms))
	}
	u := f.mailUser()
	var all []*store.Mail
	for i, to := range []string{"a@example.com", "b@example.com", "a@example.com", "A@example.com", "a@example.com"} {
		m := newMail(u.ID, to, base.Add(time.Duration(5-i)*time.Second)) // reverse insertion order
		f.enqueue(m)
		all = append(all, m)
	}
	// all[1] sent, all[2] failed; the rest pending.
	if err := f.s.UpdateMail(f.ctx, all[1].ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: base, SentAt: ptr(base)}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	if err := f.s.UpdateMail(f.ctx, all[2].ID, store.MailUpdate{Status: store.MailFailed, Attempts: 3, LastError: "boom", NextAttemptAt: base}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	ids := func(ms ...*store.Mail) []string {
		s := slices.Clone(ms)
		slices.SortFunc(s, store.CompareMail)
		return mailIDs(s)
	}
	for _, c := range []struct {
		q    store.MailQuery
		want []string
	}{
		{store.MailQuery{}, ids(all...)},
		{store.MailQuery{Status: store.MailPending}, ids(all[0], all[3], all[4])},
		{store.MailQuery{Status: store.MailSent}, ids(all[1])},
		{store.MailQuery{Status: store.MailFailed}, ids(all[2])},
		{store.MailQuery{To: "a@example.com"}, ids(all[0], all[2], all[4])},
		{store.MailQuery{To: "A@example.com"}, ids(all[3])},
		{store.MailQuery{To: "nobody@example.com"}, nil},
		{store.MailQuery{To: "a@example.com", Status: store.MailPending}, ids(all[0], all[4])},
		{store.MailQuery{Limit: 2}, ids(all...)[:2]},
		{store.MailQuery{To: "a@example.com", Limit: 1}, ids(all[0], all[2], all[4])[:1]},
		{store.MailQuery{Status: store.MailPending, Limit: 10}, ids(all[0], all[3], all[4])},
	} {
		f.checkIDs(fmt.Sprintf("ListMail(%+v)", c.q), mailIDs(f.listMail(c.q)), c.want)
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
