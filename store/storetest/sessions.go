package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Sessions: CreateSession, GetSession, RotateSession, DeleteSession,
// DeleteSessionByToken.

// newHash returns the SHA-256 of a fresh random token.
func newHash() []byte {
	sum := sha256.Sum256([]byte(newID()))
	return sum[:]
}

// newSession returns a session of userID created at base, expiring a week
// later.
func newSession(userID string) *store.Session {
	return &store.Session{
		ID:          newID(),
		UserID:      userID,
		TokenHash:   newHash(),
		CreatedAt:   base,
		RefreshedAt: base,
		ExpiresAt:   base.Add(7 * day),
		IP:          "203.0.113.7",
		UserAgent:   "Mozilla/5.0 (X11; Linux x86_64) storetest",
	}
}

// session creates a session for userID.
func (f *fixture) session(userID string) *store.Session {
	f.Helper()
	s := newSession(userID)
	if err := f.s.CreateSession(f.ctx, s, store.Condition{}); err != nil {
		f.Fatalf("CreateSession: %v", err)
	}
	return s
}

// rotate rotates s's current token to a new one at now, which must
// succeed, and returns the session's earlier hash; s is updated to what the
// store must now hold.
func (f *fixture) rotate(s *store.Session, now time.Time) (earlier []byte) {
	f.Helper()
	earlier = s.TokenHash
	next := newHash()
	got, _, err := f.s.RotateSession(f.ctx, s.TokenHash, next, now, now.Add(7*day), store.Condition{})
	if err != nil {
		f.Fatalf("RotateSession: %v", err)
	}
	s.TokenHash, s.RefreshedAt, s.ExpiresAt = next, now, now.Add(7*day)
	f.checkSession("RotateSession result", got, s)
	return earlier
}

func (f *fixture) getSession(id string) *store.Session {
	f.Helper()
	s, err := f.s.GetSession(f.ctx, id)
	return must(f, "GetSession", s, err)
}

// sessionGone asserts that no session has the given id.
func (f *fixture) sessionGone(id, what string) {
	f.Helper()
	if s, err := f.s.GetSession(f.ctx, id); !errors.Is(err, store.ErrNotFound) {
		f.Errorf("%s: GetSession = %+v, %v; want ErrNotFound", what, s, err)
	}
}

// sessionIs asserts that the stored session is want.
func (f *fixture) sessionIs(want *store.Session, what string) {
	f.Helper()
	got, err := f.s.GetSession(f.ctx, want.ID)
	if err != nil {
		f.Errorf("%s: GetSession: %v; want the session", what, err)
		return
	}
	f.checkSession(what, got, want)
}

// hashUnknown asserts that RotateSession of hash answers ErrInvalidToken,
// and not ErrTokenReused: no session, current or earlier, has it.
func (f *fixture) hashUnknown(hash []byte, what string) {
	f.Helper()
	_, _, err := f.s.RotateSession(f.ctx, hash, newHash(), base, base.Add(day), store.Condition{})
	f.wantErr(what, err, store.ErrInvalidToken)
	if errors.Is(err, store.ErrTokenReused) || errors.Is(err, store.ErrTokenExpired) {
		f.Errorf("%s: err = %v; want plain ErrInvalidToken (no session holds the hash)", what, err)
	}
}

func diffSession(got, want *store.Session) []string {
	var d differ
	d.str("ID", got.ID, want.ID)
	d.str("UserID", got.UserID, want.UserID)
	if !bytes.Equal(got.TokenHash, want.TokenHash) {
		d.add("TokenHash = %x, want %x", got.TokenHash, want.TokenHash)
	}
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("RefreshedAt", got.RefreshedAt, want.RefreshedAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.str("IP", got.IP, want.IP)
	d.str("UserAgent", got.UserAgent, want.UserAgent)
	if got.Generation != want.Generation {
		d.add("Generation = %d, want %d", got.Generation, want.Generation)
	}
	return d
}

func (f *fixture) checkSession(what string, got, want *store.Session) {
	f.Helper()
	check(f, what, got, want, diffSession)
}

func cloneSession(s *store.Session) *store.Session {
	c := *s
	c.TokenHash = bytes.Clone(s.TokenHash)
	return &c
}

func sessionsCreateGet(f *fixture) {
	u := f.user("alice@example.com")
	zone := time.FixedZone("storetest-0330", -(3*3600 + 30*60))
	s := newSession(u.ID)
	s.CreatedAt = time.Date(2026, 1, 1, 23, 34, 5, 123_456_789, zone)
	s.RefreshedAt = s.CreatedAt
	s.ExpiresAt = s.CreatedAt.Add(7*day + 250*time.Millisecond)
	s.IP = "2001:db8::1"
	s.UserAgent = strings.Repeat("Ünïcode agent ✓ ", 30)[:500]
	want := cloneSession(s)
	if err := f.s.CreateSession(f.ctx, s, store.Condition{}); err != nil {
		f.Fatalf("CreateSession: %v", err)
	}
	f.checkSession("GetSession after CreateSession (non-UTC times)", f.getSession(s.ID), want)

	// A second session of the same user is its own.
	f.session(u.ID)
	bare := newSession(u.ID)
	bare.IP, bare.UserAgent = "", ""
	if err := f.s.CreateSession(f.ctx, bare, store.Condition{}); err != nil {
		f.Fatalf("CreateSession without IP and user agent: %v", err)
	}
	f.checkSession("GetSession of a session without IP and user agent", f.getSession(bare.ID), bare)
	f.checkSession("the first session after others were created", f.getSession(s.ID), want)
}

func sessionsCreateUnknownUser(f *fixture) {
	f.user("alice@example.com")
	s := newSession(newID())
	err := f.s.CreateSession(f.ctx, s, store.Condition{})
	f.wantErr("CreateSession for an unknown user", err, store.ErrNotFound)
	f.sessionGone(s.ID, "after CreateSession for an unknown user")
	f.hashUnknown(s.TokenHash, "RotateSession of the token of a session never created")
	err = f.s.CreateSession(f.ctx, newSession(newID()), store.Condition{Status: store.StatusActive})
	f.wantErr("CreateSession for an unknown user with a condition", err, store.ErrNotFound)
}

func sessionsCreateCondition(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusSuspended
	u.PasswordHash = "$argon2id$current"
	f.createUser(u)
	for _, cond := range []store.Condition{
		{Status: store.StatusActive},
		{PasswordHash: ptr("$argon2id$previous")},
		{EmailKey: ptr("bob@example.com")},
		{Status: store.StatusSuspended, Contested: ptr(true)},
	} {
		s := newSession(u.ID)
		err := f.s.CreateSession(f.ctx, s, cond)
		what := fmt.Sprintf("CreateSession with a condition the user does not satisfy (%+v)", cond)
		f.wantErr(what, err, store.ErrConflict)
		f.sessionGone(s.ID, what)
		f.hashUnknown(s.TokenHash, what+": its token")
	}
	s := newSession(u.ID)
	if err := f.s.CreateSession(f.ctx, s, store.Condition{Status: store.StatusSuspended, PasswordHash: ptr("$argon2id$current"), EmailKey: ptr(u.EmailKey)}); err != nil {
		f.Fatalf("CreateSession with a condition that holds: %v", err)
	}
	f.checkSession("GetSession", f.getSession(s.ID), s)
}

func sessionsGetNotFound(f *fixture) {
	_, err := f.s.GetSession(f.ctx, newID())
	f.wantErr("GetSession on an empty store", err, store.ErrNotFound)
	u := f.user("alice@example.com")
	f.session(u.ID)
	_, err = f.s.GetSession(f.ctx, newID())
	f.wantErr("GetSession of an unknown id", err, store.ErrNotFound)
}

func sessionsRotate(f *fixture) {
	u := newUser("alice@example.com")
	u.PasswordHash = "$argon2id$hash"
	f.createUser(u)
	s := f.session(u.ID)
	other := f.session(u.ID)
	now := base.Add(time.Hour)
	next := newHash()
	want := cloneSession(s)
	want.TokenHash, want.RefreshedAt, want.ExpiresAt = next, now, now.Add(14*day)
	got, gotUser, err := f.s.RotateSession(f.ctx, s.TokenHash, next, now, now.Add(14*day),
		store.Condition{Status: store.StatusActive, PasswordHash: ptr(u.PasswordHash)})
	if err != nil {
		f.Fatalf("RotateSession: %v", err)
	}
	f.checkSession("RotateSession result", got, want)
	f.checkUser("RotateSession's user", gotUser, u)
	f.checkSession("GetSession after RotateSession", f.getSession(s.ID), want)
	f.checkSession("another session of the same user", f.getSession(other.ID), other)

	// The new token rotates in turn; the chain goes on.
	s = want
	for i := range 3 {
		f.rotate(s, now.Add(time.Duration(i+1)*time.Minute))
	}
	f.checkSession("GetSession after four rotations", f.getSession(s.ID), s)
	// The user as it is now comes back.
	f.update(u.ID, store.UserChange{FirstName: ptr("Renamed"), UpdatedAt: now}, store.Effects{})
	_, gotUser, err = f.s.RotateSession(f.ctx, s.TokenHash, newHash(), now.Add(time.Hour), now.Add(8*day), store.Condition{})
	if err != nil {
		f.Fatalf("RotateSession: %v", err)
	}
	if gotUser == nil || gotUser.FirstName != "Renamed" || gotUser.ID != u.ID {
		f.Errorf("RotateSession's user = %+v; want user %s as it is now (FirstName %q)", gotUser, u.ID, "Renamed")
	}
}

func sessionsRotateUnknown(f *fixture) {
	f.hashUnknown(newHash(), "RotateSession on an empty store")
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	for _, h := range [][]byte{newHash(), s.TokenHash[:16], {}, nil} {
		f.hashUnknown(h, fmt.Sprintf("RotateSession of unknown hash %x", h))
	}
	f.sessionIs(s, "the session after RotateSession of unknown hashes")
}

func sessionsRotateExpired(f *fixture) {
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	for _, now := range []time.Time{s.ExpiresAt, s.ExpiresAt.Add(time.Millisecond), s.ExpiresAt.Add(30 * day)} {
		next := newHash()
		_, _, err := f.s.RotateSession(f.ctx, s.TokenHash, next, now, now.Add(7*day), store.Condition{})
		f.wantErr(fmt.Sprintf("RotateSession at %v of a session expiring at %v", now, s.ExpiresAt), err, store.ErrTokenExpired)
		f.hashUnknown(next, "the new hash of an expired RotateSession")
	}
	f.sessionIs(s, "an expired session (GetSession returns it as it is)")
	// Just before expiry the token still works: nothing was written.
	f.rotate(s, s.ExpiresAt.Add(-time.Millisecond))
}

func sessionsRotateConditionFails(f *fixture) {
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	f.update(u.ID, store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: base.Add(time.Second)}, store.Effects{})
	now := base.Add(time.Minute)
	next := newHash()
	_, _, err := f.s.RotateSession(f.ctx, s.TokenHash, next, now, now.Add(day), store.Condition{Status: store.StatusActive})
	f.wantErr("RotateSession whose user does not satisfy the condition", err, store.ErrConflict)
	f.sessionIs(s, "session after the refused RotateSession")
	f.hashUnknown(next, "the new hash of the refused RotateSession")
	// The old token is still current, not an earlier one: it rotates once
	// the user satisfies the condition again.
	f.update(u.ID, store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: base.Add(2 * time.Second)}, store.Effects{})
	if _, _, err := f.s.RotateSession(f.ctx, s.TokenHash, next, now, now.Add(day), store.Condition{Status: store.StatusActive}); err != nil {
		f.Errorf("RotateSession once the condition holds: %v", err)
	}
}

func sessionsRotateReused(f *fixture) {
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	other := f.session(u.ID)
	first := f.rotate(s, base.Add(time.Minute))
	_, _, err := f.s.RotateSession(f.ctx, first, newHash(), base.Add(2*time.Minute), base.Add(day), store.Condition{})
	f.wantErr("RotateSession of an already rotated token", err, store.ErrTokenReused)
	// The deletion is committed although the call failed.
	f.sessionGone(s.ID, "session after its rotated token was presented again")
	f.hashUnknown(s.TokenHash, "the current token of a session ended by reuse")
	f.hashUnknown(first, "the reused token, presented a second time")
	f.sessionIs(other, "another session of the same user")

	// A token rotated several times ago ends the session too.
	s2 := f.session(u.ID)
	old := f.rotate(s2, base.Add(time.Minute))
	f.rotate(s2, base.Add(2*time.Minute))
	f.rotate(s2, base.Add(3*time.Minute))
	_, _, err = f.s.RotateSession(f.ctx, old, newHash(), base.Add(4*time.Minute), base.Add(day), store.Condition{})
	f.wantErr("RotateSession of a token rotated three times ago", err, store.ErrTokenReused)
	f.sessionGone(s2.ID, "session after a token rotated three times ago was presented")
	// Reuse is detected whatever the expiry and the condition: the token
	// leaked, the session must end.
	s3 := f.session(u.ID)
	old = f.rotate(s3, base.Add(time.Minute))
	_, _, err = f.s.RotateSession(f.ctx, old, newHash(), s3.ExpiresAt.Add(day), s3.ExpiresAt.Add(2*day), store.Condition{Status: store.StatusSuspended})
	f.wantErr("RotateSession of a rotated token, after expiry and with a failing condition", err, store.ErrTokenReused)
	f.sessionGone(s3.ID, "session after that")
	f.sessionIs(other, "the other session at the end")
}

// Twenty clients present the same refresh token at once (a leaked token
// racing its owner): exactly one rotation succeeds, the others find the
// token rotated, and the session ends.
func sessionsRotateConcurrent(f *fixture) {
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	other := f.session(u.ID)
	const n = 20
	nexts := make([][]byte, n)
	for i := range nexts {
		nexts[i] = newHash()
	}
	errs := make([]error, n)
	now := base.Add(time.Minute)
	f.race("concurrent RotateSession of one token", n, func(ctx context.Context, i int) {
		_, _, errs[i] = f.s.RotateSession(ctx, s.TokenHash, nexts[i], now, now.Add(day), store.Condition{})
	})
	winner, reused := -1, 0
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			f.Errorf("RotateSession calls %d and %d both succeeded with the same token", winner, i)
		case err == nil:
			winner = i
		case errors.Is(err, store.ErrTokenReused):
			reused++
		case !errors.Is(err, store.ErrInvalidToken):
			f.Errorf("concurrent RotateSession %d: err = %v, want one matching ErrTokenReused or ErrInvalidToken", i, err)
		}
	}
	if winner < 0 {
		f.Fatalf("none of %d concurrent RotateSession calls succeeded", n)
	}
	if reused == 0 {
		f.Errorf("no concurrent RotateSession answered ErrTokenReused: the calls after the winner must find the token rotated and end the session")
	}
	f.sessionGone(s.ID, "session after concurrent rotations of one token")
	f.hashUnknown(nexts[winner], "the winner's new token after the session ended")
	f.sessionIs(other, "another session of the same user")
}

// renewGrace is the grace the RenewSession clauses pass (the Manager's).
const renewGrace = 10 * time.Second

// renew renews s's generation gen at now, which must succeed, and
// returns the session and user answered; s is updated to what the store
// must now hold when gen is current (a renewal within the grace of the one
// before changes nothing).
func (f *fixture) renew(s *store.Session, gen int64, now time.Time) (*store.Session, *store.User) {
	f.Helper()
	got, u, err := f.s.RenewSession(f.ctx, s.ID, gen, now, renewGrace, store.Condition{})
	if err != nil {
		f.Fatalf("RenewSession of generation %d (current %d) at %v: %v", gen, s.Generation, now, err)
	}
	if gen == s.Generation {
		s.Generation, s.RefreshedAt = gen+1, now
	}
	f.checkSession(fmt.Sprintf("RenewSession result (generation %d)", gen), got, s)
	f.sessionIs(s, fmt.Sprintf("GetSession after RenewSession (generation %d)", gen))
	return got, u
}

// sessionsRenew: RenewSession of the current generation advances it and
// sets RefreshedAt and the user's LastAccess, keeping the rest; a session
// created at another generation keeps it.
func sessionsRenew(f *fixture) {
	u := newUser("alice@example.com")
	u.PasswordHash = "$argon2id$hash"
	f.createUser(u)
	s := f.session(u.ID)
	other := f.session(u.ID)
	now := base.Add(time.Hour)
	got, gotUser, err := f.s.RenewSession(f.ctx, s.ID, 0, now, renewGrace,
		store.Condition{Status: store.StatusActive, PasswordHash: ptr(u.PasswordHash)})
	if err != nil {
		f.Fatalf("RenewSession: %v", err)
	}
	want := cloneSession(s)
	want.Generation, want.RefreshedAt = 1, now
	f.checkSession("RenewSession result", got, want)
	f.checkUser("RenewSession's user", gotUser, u)
	if gotUser != nil && (gotUser.LastAccess == nil || !gotUser.LastAccess.Equal(now)) {
		f.Errorf("RenewSession's user: LastAccess = %v, want %v", gotUser.LastAccess, now)
	}
	f.checkSession("GetSession after RenewSession", f.getSession(s.ID), want)
	f.checkSession("another session of the same user", f.getSession(other.ID), other)
	s = want
	for i := range 3 {
		f.renew(s, s.Generation, now.Add(time.Duration(i+1)*time.Minute))
	}
	if s.Generation != 4 {
		f.Errorf("after four renewals the generation is %d, want 4", s.Generation)
	}
	// The refresh-token chain is another matter: a rotation keeps the
	// generation, a renewal the hash.
	f.rotate(s, now.Add(time.Hour))
	f.renew(s, s.Generation, now.Add(2*time.Hour))
	f.sessionIs(s, "after a rotation and a renewal")

	high := newSession(u.ID)
	high.Generation = 41
	if err := f.s.CreateSession(f.ctx, high, store.Condition{}); err != nil {
		f.Fatalf("CreateSession at generation 41: %v", err)
	}
	f.sessionIs(high, "a session created at generation 41")
	f.renew(high, 41, now)
}

// sessionsRenewGrace: within the grace after a renewal, the generation it
// retired renews again to the session as it is, writing nothing; at the
// grace's end it is a reuse.
func sessionsRenewGrace(f *fixture) {
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	at := base.Add(time.Hour)
	f.renew(s, 0, at)
	for _, d := range []time.Duration{0, time.Second, renewGrace - time.Microsecond} {
		got, gotUser := f.renew(s, 0, at.Add(d))
		if got.Generation != 1 || gotUser == nil || gotUser.ID != u.ID {
			f.Errorf("RenewSession of the generation before, %v after its renewal = generation %d, user %+v; want generation 1 and the user", d, got.Generation, gotUser)
		}
	}
	f.sessionIs(s, "after renewals within the grace (nothing written)")
	// The current generation still advances.
	f.renew(s, 1, at.Add(time.Second))
	// Two back is a reuse, even within the grace of the last renewal.
	_, _, err := f.s.RenewSession(f.ctx, s.ID, 0, at.Add(2*time.Second), renewGrace, store.Condition{})
	f.wantErr("RenewSession of a generation two back, within the grace", err, store.ErrTokenReused)
	f.sessionGone(s.ID, "session after a generation two back was presented")

	// The generation before, at the grace's end: a reuse.
	s2 := f.session(u.ID)
	f.renew(s2, 0, at)
	_, _, err = f.s.RenewSession(f.ctx, s2.ID, 0, at.Add(renewGrace), renewGrace, store.Condition{})
	f.wantErr("RenewSession of the generation before, at the grace's end", err, store.ErrTokenReused)
	f.sessionGone(s2.ID, "session after that")
}

// sessionsRenewReused: a retired generation ends the session whatever
// the expiry and the condition, and so does one never issued.
func sessionsRenewReused(f *fixture) {
	u := f.user("alice@example.com")
	other := f.session(u.ID)
	s := f.session(u.ID)
	f.renew(s, 0, base.Add(time.Minute))
	f.renew(s, 1, base.Add(2*time.Minute))
	_, _, err := f.s.RenewSession(f.ctx, s.ID, 0, base.Add(time.Hour), renewGrace, store.Condition{})
	f.wantErr("RenewSession of a retired generation", err, store.ErrTokenReused)
	f.sessionGone(s.ID, "session after a retired generation was presented")
	_, _, err = f.s.RenewSession(f.ctx, s.ID, 2, base.Add(time.Hour), renewGrace, store.Condition{})
	f.wantErr("RenewSession of the current generation of a session ended by reuse", err, store.ErrNotFound)

	for _, gen := range []int64{1, -1} {
		s := f.session(u.ID)
		_, _, err = f.s.RenewSession(f.ctx, s.ID, gen, base.Add(time.Minute), renewGrace, store.Condition{})
		f.wantErr(fmt.Sprintf("RenewSession of generation %d, never issued", gen), err, store.ErrTokenReused)
		f.sessionGone(s.ID, "session after that")
	}

	s3 := f.session(u.ID)
	f.renew(s3, 0, base.Add(time.Minute))
	_, _, err = f.s.RenewSession(f.ctx, s3.ID, 0, s3.ExpiresAt.Add(day), renewGrace, store.Condition{Status: store.StatusSuspended})
	f.wantErr("RenewSession of a retired generation, after expiry and with a failing condition", err, store.ErrTokenReused)
	f.sessionGone(s3.ID, "session after that")
	f.sessionIs(other, "another session of the same user")
}

// sessionsRenewRefused: an unknown id, an expired session and a failing
// condition write nothing.
func sessionsRenewRefused(f *fixture) {
	_, _, err := f.s.RenewSession(f.ctx, newID(), 0, base, renewGrace, store.Condition{})
	f.wantErr("RenewSession on an empty store", err, store.ErrNotFound)
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	_, _, err = f.s.RenewSession(f.ctx, newID(), 0, base, renewGrace, store.Condition{})
	f.wantErr("RenewSession of an unknown id", err, store.ErrNotFound)

	for _, now := range []time.Time{s.ExpiresAt, s.ExpiresAt.Add(time.Millisecond), s.ExpiresAt.Add(30 * day)} {
		_, _, err := f.s.RenewSession(f.ctx, s.ID, 0, now, renewGrace, store.Condition{})
		f.wantErr(fmt.Sprintf("RenewSession at %v of a session expiring at %v", now, s.ExpiresAt), err, store.ErrTokenExpired)
	}
	f.sessionIs(s, "an expired session (nothing written)")

	f.update(u.ID, store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: base.Add(time.Second)}, store.Effects{})
	now := base.Add(time.Minute)
	_, _, err = f.s.RenewSession(f.ctx, s.ID, 0, now, renewGrace, store.Condition{Status: store.StatusActive})
	f.wantErr("RenewSession whose user does not satisfy the condition", err, store.ErrConflict)
	f.sessionIs(s, "session after the refused RenewSession")
	f.update(u.ID, store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: base.Add(2 * time.Second)}, store.Effects{})
	f.renew(s, 0, now)

	// Within the grace, the same checks.
	f.update(u.ID, store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: base.Add(3 * time.Second)}, store.Effects{})
	_, _, err = f.s.RenewSession(f.ctx, s.ID, 0, now.Add(time.Second), renewGrace, store.Condition{Status: store.StatusActive})
	f.wantErr("RenewSession within the grace whose user does not satisfy the condition", err, store.ErrConflict)
	f.sessionIs(s, "session after that")

	late := newSession(u.ID)
	late.ExpiresAt = now.Add(time.Second)
	if err := f.s.CreateSession(f.ctx, late, store.Condition{}); err != nil {
		f.Fatalf("CreateSession: %v", err)
	}
	f.renew(late, 0, now)
	_, _, err = f.s.RenewSession(f.ctx, late.ID, 0, late.ExpiresAt, renewGrace, store.Condition{})
	f.wantErr("RenewSession within the grace of an expired session", err, store.ErrTokenExpired)
	f.sessionIs(late, "session after that")
}

// Twenty requests of one client renew the same generation at once (its
// tabs, or a page's parallel fetches): exactly one advances it, and the
// others, within the grace, get the session as it left it.
func sessionsRenewConcurrent(f *fixture) {
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	other := f.session(u.ID)
	const n = 20
	got := make([]*store.Session, n)
	errs := make([]error, n)
	now := base.Add(time.Minute)
	f.race("concurrent RenewSession of one generation", n, func(ctx context.Context, i int) {
		got[i], _, errs[i] = f.s.RenewSession(ctx, s.ID, 0, now, renewGrace, store.Condition{})
	})
	for i, err := range errs {
		switch {
		case err != nil:
			f.Errorf("concurrent RenewSession %d: %v; want every one to succeed (within the grace)", i, err)
		case got[i].Generation != 1:
			f.Errorf("concurrent RenewSession %d: generation %d; want 1 (exactly one advances it)", i, got[i].Generation)
		}
	}
	s.Generation, s.RefreshedAt = 1, now
	f.sessionIs(s, "session after concurrent renewals of one generation")
	f.sessionIs(other, "another session of the same user")

	// Then the retired generation and the current one at once, after the
	// grace: the reuse ends the session whichever comes first.
	later := now.Add(time.Hour)
	f.race("RenewSession of a retired and of the current generation at once", n, func(ctx context.Context, i int) {
		_, _, errs[i] = f.s.RenewSession(ctx, s.ID, int64(i%2), later, renewGrace, store.Condition{})
	})
	reused := 0
	for i, err := range errs {
		switch {
		case errors.Is(err, store.ErrTokenReused):
			reused++
		case err != nil && !errors.Is(err, store.ErrNotFound):
			f.Errorf("RenewSession %d of generation %d after the grace: %v; want success, ErrTokenReused or ErrNotFound", i, i%2, err)
		}
	}
	if reused == 0 {
		f.Errorf("no RenewSession of the retired generation answered ErrTokenReused")
	}
	f.sessionGone(s.ID, "session after its retired generation was presented")
}

func sessionsDelete(f *fixture) {
	err := f.s.DeleteSession(f.ctx, newID())
	f.wantErr("DeleteSession on an empty store", err, store.ErrNotFound)
	u := f.user("alice@example.com")
	s := f.session(u.ID)
	earlier := f.rotate(s, base.Add(time.Minute))
	other := f.session(u.ID)
	if err := f.s.DeleteSession(f.ctx, s.ID); err != nil {
		f.Fatalf("DeleteSession: %v", err)
	}
	f.sessionGone(s.ID, "after DeleteSession")
	f.hashUnknown(s.TokenHash, "the current token of a deleted session")
	f.hashUnknown(earlier, "an earlier token of a deleted session")
	f.sessionIs(other, "another session of the same user after DeleteSession")
	f.wantErr("DeleteSession a second time", f.s.DeleteSession(f.ctx, s.ID), store.ErrNotFound)
	f.wantErr("DeleteSession of an unknown id", f.s.DeleteSession(f.ctx, newID()), store.ErrNotFound)
	f.checkUser("the user after DeleteSession", f.getUser(u.ID), u)
}

func sessionsDeleteByToken(f *fixture) {
	f.wantErr("DeleteSessionByToken on an empty store", f.s.DeleteSessionByToken(f.ctx, newHash()), store.ErrNotFound)
	u := f.user("alice@example.com")
	byCurrent := f.session(u.ID)
	earlierOfFirst := f.rotate(byCurrent, base.Add(time.Minute))
	byEarlier := f.session(u.ID)
	earlier := f.rotate(byEarlier, base.Add(time.Minute))
	f.rotate(byEarlier, base.Add(2*time.Minute))
	other := f.session(u.ID)

	if err := f.s.DeleteSessionByToken(f.ctx, byCurrent.TokenHash); err != nil {
		f.Fatalf("DeleteSessionByToken with the current token: %v", err)
	}
	f.sessionGone(byCurrent.ID, "after DeleteSessionByToken with the current token")
	f.hashUnknown(earlierOfFirst, "an earlier token of the session deleted by its current one")

	if err := f.s.DeleteSessionByToken(f.ctx, earlier); err != nil {
		f.Fatalf("DeleteSessionByToken with an earlier token: %v", err)
	}
	f.sessionGone(byEarlier.ID, "after DeleteSessionByToken with an earlier token")
	f.hashUnknown(byEarlier.TokenHash, "the current token of the session deleted by an earlier one")

	f.wantErr("DeleteSessionByToken with the token of a deleted session", f.s.DeleteSessionByToken(f.ctx, byCurrent.TokenHash), store.ErrNotFound)
	f.wantErr("DeleteSessionByToken with an unknown token", f.s.DeleteSessionByToken(f.ctx, newHash()), store.ErrNotFound)
	f.wantErr("DeleteSessionByToken with a prefix of a token", f.s.DeleteSessionByToken(f.ctx, other.TokenHash[:16]), store.ErrNotFound)
	f.sessionIs(other, "another session of the same user")
}

// ---------------------------------------------------------------------------
// PurgeExpired

func purgeExpired(f *fixture) {
	if n, err := f.s.PurgeExpired(f.ctx, base.Add(100*day)); err != nil || n != 0 {
		f.Errorf("PurgeExpired on an empty store = %d, %v; want 0, nil", n, err)
	}
	u := f.user("alice@example.com")
	v := f.user("bob@example.com")
	t1 := newToken(u.ID, store.PurposeVerifyEmail, base.Add(time.Hour))
	t1consumed := newToken(v.ID, store.PurposeInvite, base.Add(time.Hour))
	t2 := newToken(u.ID, store.PurposeInvite, base.Add(2*time.Hour))
	t3 := newToken(u.ID, store.PurposePasswordReset, base.Add(3*day))
	for _, tok := range []*store.Token{t1, t1consumed, t2, t3} {
		f.issue(tok)
	}
	if _, err := f.s.ConsumeToken(f.ctx, t1consumed.Hash, t1consumed.Purpose, base, store.Condition{}, store.UserChange{UpdatedAt: base}, store.Effects{}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	s1 := newSession(u.ID)
	s1.ExpiresAt = base.Add(time.Hour)
	s2 := newSession(v.ID)
	s2.ExpiresAt = base.Add(time.Minute)
	s3 := newSession(u.ID)
	for _, s := range []*store.Session{s1, s2, s3} {
		if err := f.s.CreateSession(f.ctx, s, store.Condition{}); err != nil {
			f.Fatalf("CreateSession: %v", err)
		}
	}
	// s2 is rotated: its expiry moves to two hours, and it has an earlier
	// token.
	earlier := s2.TokenHash
	next := newHash()
	if _, _, err := f.s.RotateSession(f.ctx, earlier, next, base, base.Add(2*time.Hour), store.Condition{}); err != nil {
		f.Fatalf("RotateSession: %v", err)
	}
	m := newMail(u.ID, u.Email, base)
	f.enqueue(m)

	// At or before: the tokens and the session expiring at one hour go,
	// consumed or not.
	n, err := f.s.PurgeExpired(f.ctx, base.Add(time.Hour))
	if err != nil {
		f.Fatalf("PurgeExpired: %v", err)
	}
	if n != 3 {
		f.Errorf("PurgeExpired(base+1h) = %d, want 3 (two tokens, one session)", n)
	}
	f.tokenGone(t1.Hash, "token expiring at the purge time")
	f.tokenGone(t1consumed.Hash, "consumed token expiring at the purge time")
	f.sessionGone(s1.ID, "session expiring at the purge time")
	f.tokenLive(t2.Hash, "token expiring after the purge time")
	f.tokenLive(t3.Hash, "token expiring days later")
	if _, err := f.s.GetSession(f.ctx, s2.ID); err != nil {
		f.Errorf("rotated session expiring after the purge time: %v", err)
	}
	f.sessionIs(s3, "session expiring days later")

	n, err = f.s.PurgeExpired(f.ctx, base.Add(2*time.Hour))
	if err != nil {
		f.Fatalf("PurgeExpired: %v", err)
	}
	if n != 2 {
		f.Errorf("PurgeExpired(base+2h) = %d, want 2 (one token, one session)", n)
	}
	f.sessionGone(s2.ID, "rotated session expiring at the second purge time")
	f.hashUnknown(earlier, "an earlier token of a purged session")
	f.hashUnknown(next, "the current token of a purged session")
	if n, err := f.s.PurgeExpired(f.ctx, base.Add(2*time.Hour)); err != nil || n != 0 {
		f.Errorf("PurgeExpired again = %d, %v; want 0, nil", n, err)
	}
	// Users and mail are not its business.
	f.checkUser("user after PurgeExpired", f.getUser(u.ID), u)
	f.checkMail("mail after PurgeExpired", f.onlyMail(), m)
	f.tokenLive(t3.Hash, "token expiring days later, at the end")
	f.sessionIs(s3, "session expiring days later, at the end")
}

// sessionsResolve: ResolveSession answers the session, its user, and what
// the user's role and policies grant it: each flag set when the role or
// any policy has it, from the role and the policies alike; a role or
// policy deleted behind the store's back (Dropper) grants nothing.
func sessionsResolve(f *fixture) {
	_, _, _, err := f.s.ResolveSession(f.ctx, newID())
	f.wantErr("ResolveSession on an empty store", err, store.ErrNotFound)

	newRole := func(name string, admin, tfa bool) *store.Role {
		r := &store.Role{ID: newID(), Name: name, AdminAccess: admin, EnforceTFA: tfa}
		if err := f.s.CreateRole(f.ctx, r); err != nil {
			f.Fatalf("CreateRole(%s): %v", name, err)
		}
		return r
	}
	newPolicy := func(name string, admin, tfa bool) *store.Policy {
		p := &store.Policy{ID: newID(), Name: name, AdminAccess: admin, EnforceTFA: tfa}
		if err := f.s.CreatePolicy(f.ctx, p); err != nil {
			f.Fatalf("CreatePolicy(%s): %v", name, err)
		}
		return p
	}
	plain, admin := f.role("Plain"), newRole("Admins", true, false)
	tfaRole, both := newRole("Two-factor", false, true), newRole("Both", true, true)
	pol, adminPol := f.policy("Reader"), newPolicy("Root", true, false)
	tfaPol, bothPol := newPolicy("Two-factor policy", false, true), newPolicy("Both policy", true, true)
	// gone stands for a role or policy with both flags, made afresh for
	// its case and deleted (Dropper) once the user naming it is created:
	// what it granted must be gone.
	gone := ptr("gone")
	dropper, canDrop := f.s.(Dropper)

	type grants = store.Grants
	for _, tc := range []struct {
		name     string
		role     *string
		policies []string
		want     grants
		status   store.Status
		drop     bool // gone is in role or policies
	}{
		{"no role, no policy", nil, nil, grants{}, store.StatusActive, false},
		{"plain role, plain policy", &plain.ID, []string{pol.ID}, grants{}, store.StatusActive, false},
		{"admin role", &admin.ID, nil, grants{AdminAccess: true}, store.StatusActive, false},
		{"admin policy after a plain one", &plain.ID, []string{pol.ID, adminPol.ID}, grants{AdminAccess: true}, store.StatusActive, false},
		{"admin policy, no role", nil, []string{adminPol.ID}, grants{AdminAccess: true}, store.StatusActive, false},
		{"suspended admin", &admin.ID, nil, grants{AdminAccess: true}, store.StatusSuspended, false},
		{"two-factor role", &tfaRole.ID, []string{pol.ID}, grants{EnforceTFA: true}, store.StatusActive, false},
		{"two-factor policy after a plain one", &plain.ID, []string{pol.ID, tfaPol.ID}, grants{EnforceTFA: true}, store.StatusActive, false},
		{"two-factor policy, no role", nil, []string{tfaPol.ID}, grants{EnforceTFA: true}, store.StatusActive, false},
		{"admin role, two-factor policy", &admin.ID, []string{tfaPol.ID}, grants{AdminAccess: true, EnforceTFA: true}, store.StatusActive, false},
		{"two-factor role, admin policy", &tfaRole.ID, []string{adminPol.ID}, grants{AdminAccess: true, EnforceTFA: true}, store.StatusActive, false},
		{"role with both", &both.ID, nil, grants{AdminAccess: true, EnforceTFA: true}, store.StatusActive, false},
		{"policy with both", &plain.ID, []string{pol.ID, bothPol.ID}, grants{AdminAccess: true, EnforceTFA: true}, store.StatusActive, false},
		{"admin and two-factor policies", nil, []string{adminPol.ID, tfaPol.ID}, grants{AdminAccess: true, EnforceTFA: true}, store.StatusActive, false},
		{"deleted role", gone, nil, grants{}, store.StatusActive, true},
		{"deleted policy among plain ones", &plain.ID, []string{pol.ID, *gone}, grants{}, store.StatusActive, true},
		{"deleted role and policy, two-factor policy", gone, []string{*gone, tfaPol.ID}, grants{EnforceTFA: true}, store.StatusActive, true},
	} {
		if tc.drop && !canDrop {
			f.Logf("ResolveSession (%s): not checked, the store does not implement storetest.Dropper", tc.name)
			continue
		}
		u := newUser(strings.ReplaceAll(tc.name, " ", "-") + "@example.com")
		u.Role, u.Policies, u.Status = tc.role, slices.Clone(tc.policies), tc.status
		u.Metadata = map[string]any{"team": "Ünïcode ✓"}
		var goneRole *store.Role
		var gonePol *store.Policy
		if tc.role == gone {
			goneRole = newRole("Gone "+tc.name, true, true)
			u.Role = &goneRole.ID
		}
		if i := slices.Index(u.Policies, *gone); i >= 0 {
			gonePol = newPolicy("Gone "+tc.name, true, true)
			u.Policies[i] = gonePol.ID
		}
		f.createUser(u)
		if goneRole != nil {
			if err := dropper.DropRole(f.ctx, goneRole.ID); err != nil {
				f.Fatalf("DropRole (%s): %v", tc.name, err)
			}
			_, err := f.s.GetRole(f.ctx, goneRole.ID)
			f.wantErr("GetRole of a dropped role ("+tc.name+")", err, store.ErrNotFound)
		}
		if gonePol != nil {
			if err := dropper.DropPolicy(f.ctx, gonePol.ID); err != nil {
				f.Fatalf("DropPolicy (%s): %v", tc.name, err)
			}
			_, err := f.s.GetPolicy(f.ctx, gonePol.ID)
			f.wantErr("GetPolicy of a dropped policy ("+tc.name+")", err, store.ErrNotFound)
		}
		want := f.getUser(u.ID)
		s := f.session(u.ID)
		other := f.session(u.ID)
		gotS, gotU, got, err := f.s.ResolveSession(f.ctx, s.ID)
		if err != nil {
			f.Fatalf("ResolveSession (%s): %v", tc.name, err)
		}
		f.checkSession("ResolveSession's session ("+tc.name+")", gotS, s)
		f.checkUser("ResolveSession's user ("+tc.name+")", gotU, want)
		if got != tc.want {
			f.Errorf("ResolveSession (%s): grants %+v, want %+v", tc.name, got, tc.want)
		}
		if err := f.s.DeleteSession(f.ctx, s.ID); err != nil {
			f.Fatalf("DeleteSession: %v", err)
		}
		_, _, _, err = f.s.ResolveSession(f.ctx, s.ID)
		f.wantErr("ResolveSession of an ended session ("+tc.name+")", err, store.ErrNotFound)
		if _, _, _, err := f.s.ResolveSession(f.ctx, other.ID); err != nil {
			f.Errorf("ResolveSession of the user's other session (%s): %v", tc.name, err)
		}
	}
}

// sessionsList: ListSessions returns exactly the user's sessions, newest
// first then by ID, with every field, and nothing for a user without any.
func sessionsList(f *fixture) {
	u := f.user("alice@example.com")
	v := f.user("bob@example.com")
	got, err := f.s.ListSessions(f.ctx, u.ID)
	if err != nil {
		f.Fatalf("ListSessions of a user without sessions: %v", err)
	}
	if len(got) != 0 {
		f.Errorf("ListSessions of a user without sessions: %d sessions; want none", len(got))
	}
	older := newSession(u.ID)
	newer := newSession(u.ID)
	newer.CreatedAt, newer.RefreshedAt = base.Add(time.Hour), base.Add(time.Hour)
	newer.IP, newer.UserAgent = "2001:db8::1", "curl/8"
	twinA, twinB := newSession(u.ID), newSession(u.ID)
	if twinB.ID < twinA.ID {
		twinA, twinB = twinB, twinA
	}
	twinA.CreatedAt, twinB.CreatedAt = base.Add(time.Minute), base.Add(time.Minute)
	twinA.RefreshedAt, twinB.RefreshedAt = twinA.CreatedAt, twinB.CreatedAt
	for _, s := range []*store.Session{older, twinB, newer, twinA} {
		if err := f.s.CreateSession(f.ctx, s, store.Condition{}); err != nil {
			f.Fatalf("CreateSession: %v", err)
		}
	}
	f.session(v.ID)
	f.rotate(older, base.Add(2*time.Hour))
	got, err = f.s.ListSessions(f.ctx, u.ID)
	if err != nil {
		f.Fatalf("ListSessions: %v", err)
	}
	want := []*store.Session{newer, twinA, twinB, older}
	if len(got) != len(want) {
		f.Fatalf("ListSessions: %d sessions; want %d (the user's own only)", len(got), len(want))
	}
	for i := range want {
		f.checkSession(fmt.Sprintf("ListSessions[%d]", i), got[i], want[i])
	}
	got, err = f.s.ListSessions(f.ctx, newID())
	if err != nil || len(got) != 0 {
		f.Errorf("ListSessions of an unknown user = %d sessions, %v; want none, nil", len(got), err)
	}
}
