package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// TwoFactor: the second factor, its time steps and recovery codes.

func tfaGroup() group {
	return group{"TwoFactor", []clause{
		{"CreateGet", tfaCreateGet},
		{"CreateUnknownUser", tfaCreateUnknownUser},
		{"CreateTwice", tfaCreateTwice},
		{"GetNone", tfaGetNone},
		{"Delete", tfaDelete},
		{"UserFlag", tfaUserFlag},
		{"CreateUserIgnoresFlag", tfaCreateUserIgnoresFlag},
		{"ClaimStepIncreases", tfaClaimStep},
		{"ClaimStepOnceUnderConcurrency", tfaClaimStepConcurrent},
		{"RecoveryCodeOnce", tfaRecoveryCodeOnce},
		{"RecoveryCodeOnceUnderConcurrency", tfaRecoveryCodeConcurrent},
		{"ReplaceRecoveryCodes", tfaReplaceCodes},
		{"GoesWithTheUser", tfaGoesWithUser},
		{"EnforceTFA", tfaEnforceRoundTrip},
	}}
}

// codeHashes returns n distinct 32-byte hashes, labelled with tag.
func codeHashes(tag string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		sum := sha256.Sum256([]byte(tag + string(rune('a'+i))))
		out[i] = sum[:]
	}
	return out
}

// enableTFA gives u a second factor with ten codes, which must succeed.
func (f *fixture) enableTFA(u *store.User, tag string) ([]byte, [][]byte) {
	f.Helper()
	secret := []byte("\x01sealed secret of " + tag + "\x00\xff")
	codes := codeHashes(tag, 10)
	if err := f.s.CreateTwoFactor(f.ctx, u.ID, store.TwoFactorRecord{Secret: secret, LastStep: 100, CreatedAt: base}, codes); err != nil {
		f.Fatalf("CreateTwoFactor: %v", err)
	}
	return secret, codes
}

func (f *fixture) getTFA(userID string) *store.TwoFactorRecord {
	f.Helper()
	rec, err := f.s.GetTwoFactor(f.ctx, userID)
	return must(f, "GetTwoFactor", rec, err)
}

func tfaCreateGet(f *fixture) {
	u := f.user("alice@example.com")
	secret, _ := f.enableTFA(u, "alice")
	rec := f.getTFA(u.ID)
	if !bytes.Equal(rec.Secret, secret) {
		f.Errorf("GetTwoFactor: Secret = %x, want %x (the bytes as given)", rec.Secret, secret)
	}
	if rec.LastStep != 100 || rec.RecoveryCodes != 10 || !rec.CreatedAt.Equal(base) {
		f.Errorf("GetTwoFactor = LastStep %d, RecoveryCodes %d, CreatedAt %v; want 100, 10, %v", rec.LastStep, rec.RecoveryCodes, rec.CreatedAt, base)
	}
	if rec.CreatedAt.Location() != time.UTC {
		f.Errorf("GetTwoFactor: CreatedAt in %v, want UTC", rec.CreatedAt.Location())
	}
}

func tfaCreateUnknownUser(f *fixture) {
	err := f.s.CreateTwoFactor(f.ctx, newID(), store.TwoFactorRecord{Secret: []byte("s"), CreatedAt: base}, codeHashes("x", 2))
	f.wantErr("CreateTwoFactor for an unknown user", err, store.ErrNotFound)
}

func tfaCreateTwice(f *fixture) {
	u := f.user("alice@example.com")
	secret, codes := f.enableTFA(u, "first")
	err := f.s.CreateTwoFactor(f.ctx, u.ID, store.TwoFactorRecord{Secret: []byte("other"), LastStep: 500, CreatedAt: base}, codeHashes("second", 3))
	f.wantErr("CreateTwoFactor for a user who has one", err, store.ErrConflict)
	rec := f.getTFA(u.ID)
	if !bytes.Equal(rec.Secret, secret) || rec.LastStep != 100 || rec.RecoveryCodes != len(codes) {
		f.Errorf("after a refused second CreateTwoFactor: %+v; want the first one, untouched", rec)
	}
	err = f.s.ConsumeRecoveryCode(f.ctx, u.ID, codeHashes("second", 1)[0])
	f.wantErr("a recovery code of the refused CreateTwoFactor", err, store.ErrNotFound)
}

func tfaGetNone(f *fixture) {
	u := f.user("alice@example.com")
	_, err := f.s.GetTwoFactor(f.ctx, u.ID)
	f.wantErr("GetTwoFactor of a user without one", err, store.ErrNotFound)
	_, err = f.s.GetTwoFactor(f.ctx, newID())
	f.wantErr("GetTwoFactor of an unknown user", err, store.ErrNotFound)
	f.wantErr("ClaimTOTPStep without a second factor", f.s.ClaimTOTPStep(f.ctx, u.ID, 7), store.ErrNotFound)
	f.wantErr("ReplaceRecoveryCodes without a second factor", f.s.ReplaceRecoveryCodes(f.ctx, u.ID, codeHashes("x", 2)), store.ErrNotFound)
	if _, err := f.s.GetTwoFactor(f.ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		f.Errorf("ReplaceRecoveryCodes without a second factor created one: GetTwoFactor err = %v", err)
	}
}

func tfaDelete(f *fixture) {
	u := f.user("alice@example.com")
	_, codes := f.enableTFA(u, "alice")
	v := f.user("bob@example.com")
	f.enableTFA(v, "bob")
	if err := f.s.DeleteTwoFactor(f.ctx, u.ID); err != nil {
		f.Fatalf("DeleteTwoFactor: %v", err)
	}
	_, err := f.s.GetTwoFactor(f.ctx, u.ID)
	f.wantErr("GetTwoFactor after DeleteTwoFactor", err, store.ErrNotFound)
	f.wantErr("a recovery code after DeleteTwoFactor", f.s.ConsumeRecoveryCode(f.ctx, u.ID, codes[0]), store.ErrNotFound)
	f.wantErr("DeleteTwoFactor again", f.s.DeleteTwoFactor(f.ctx, u.ID), store.ErrNotFound)
	if f.getUser(u.ID).TwoFactor {
		f.Errorf("User.TwoFactor still true after DeleteTwoFactor")
	}
	if rec := f.getTFA(v.ID); rec.RecoveryCodes != 10 {
		f.Errorf("another user's second factor after DeleteTwoFactor: %d codes, want 10", rec.RecoveryCodes)
	}
	// Set up again: a fresh start, with none of the old codes.
	if err := f.s.CreateTwoFactor(f.ctx, u.ID, store.TwoFactorRecord{Secret: []byte("new"), LastStep: 1, CreatedAt: base}, codeHashes("new", 2)); err != nil {
		f.Fatalf("CreateTwoFactor after DeleteTwoFactor: %v", err)
	}
	if rec := f.getTFA(u.ID); rec.RecoveryCodes != 2 || rec.LastStep != 1 {
		f.Errorf("after a new CreateTwoFactor: %d codes, last step %d; want 2, 1", rec.RecoveryCodes, rec.LastStep)
	}
}

func tfaUserFlag(f *fixture) {
	u := f.user("alice@example.com")
	v := f.user("bob@example.com")
	if f.getUser(u.ID).TwoFactor {
		f.Errorf("User.TwoFactor of a new user: true, want false")
	}
	f.enableTFA(u, "alice")
	if !f.getUser(u.ID).TwoFactor {
		f.Errorf("GetUser: TwoFactor false after CreateTwoFactor")
	}
	if got, err := f.s.GetUserByEmailKey(f.ctx, u.EmailKey); err != nil || !got.TwoFactor {
		f.Errorf("GetUserByEmailKey: %+v, %v; want TwoFactor true", got, err)
	}
	for _, got := range f.listUsers(store.UserQuery{}) {
		if got.TwoFactor != (got.ID == u.ID) {
			f.Errorf("ListUsers: %s has TwoFactor %v", got.Email, got.TwoFactor)
		}
	}
	if after := f.update(u.ID, store.UserChange{FirstName: ptr("Ann"), UpdatedAt: base}, store.Effects{}); !after.TwoFactor {
		f.Errorf("UpdateUser's answer: TwoFactor false for a user who has one")
	}
	if f.getUser(v.ID).TwoFactor {
		f.Errorf("another user's TwoFactor: true, want false")
	}
}

func tfaCreateUserIgnoresFlag(f *fixture) {
	u := newUser("alice@example.com")
	u.TwoFactor = true
	f.createUser(u)
	if f.getUser(u.ID).TwoFactor {
		f.Errorf("CreateUser with TwoFactor set: stored true, want false (only CreateTwoFactor sets it)")
	}
}

func tfaClaimStep(f *fixture) {
	u := f.user("alice@example.com")
	f.enableTFA(u, "alice") // LastStep 100
	f.wantErr("ClaimTOTPStep of the last step", f.s.ClaimTOTPStep(f.ctx, u.ID, 100), store.ErrConflict)
	f.wantErr("ClaimTOTPStep of an earlier step", f.s.ClaimTOTPStep(f.ctx, u.ID, 99), store.ErrConflict)
	if err := f.s.ClaimTOTPStep(f.ctx, u.ID, 101); err != nil {
		f.Fatalf("ClaimTOTPStep of a later step: %v", err)
	}
	f.wantErr("ClaimTOTPStep of the step just claimed", f.s.ClaimTOTPStep(f.ctx, u.ID, 101), store.ErrConflict)
	if err := f.s.ClaimTOTPStep(f.ctx, u.ID, 1<<40); err != nil {
		f.Fatalf("ClaimTOTPStep of a large step: %v", err)
	}
	if rec := f.getTFA(u.ID); rec.LastStep != 1<<40 {
		f.Errorf("LastStep = %d, want %d", rec.LastStep, int64(1)<<40)
	}
	f.wantErr("ClaimTOTPStep of an unknown user", f.s.ClaimTOTPStep(f.ctx, newID(), 1<<41), store.ErrNotFound)
}

func tfaClaimStepConcurrent(f *fixture) {
	u := f.user("alice@example.com")
	f.enableTFA(u, "alice")
	const n = 8
	errs := make([]error, n)
	f.race("ClaimTOTPStep of one step", n, func(ctx context.Context, i int) {
		errs[i] = f.s.ClaimTOTPStep(ctx, u.ID, 200)
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			f.Errorf("ClaimTOTPStep under concurrency: %v; want nil or ErrConflict", err)
		}
	}
	if wins != 1 {
		f.Errorf("%d concurrent ClaimTOTPStep of one step succeeded, want exactly 1", wins)
	}
}

func tfaRecoveryCodeOnce(f *fixture) {
	u := f.user("alice@example.com")
	_, codes := f.enableTFA(u, "alice")
	v := f.user("bob@example.com")
	_, others := f.enableTFA(v, "bob")
	if err := f.s.ConsumeRecoveryCode(f.ctx, u.ID, codes[3]); err != nil {
		f.Fatalf("ConsumeRecoveryCode: %v", err)
	}
	f.wantErr("ConsumeRecoveryCode of a used code", f.s.ConsumeRecoveryCode(f.ctx, u.ID, codes[3]), store.ErrNotFound)
	f.wantErr("ConsumeRecoveryCode of another user's code", f.s.ConsumeRecoveryCode(f.ctx, u.ID, others[0]), store.ErrNotFound)
	f.wantErr("ConsumeRecoveryCode of a prefix of a code", f.s.ConsumeRecoveryCode(f.ctx, u.ID, codes[4][:16]), store.ErrNotFound)
	if rec := f.getTFA(u.ID); rec.RecoveryCodes != 9 {
		f.Errorf("after one code used: %d codes left, want 9", rec.RecoveryCodes)
	}
	if rec := f.getTFA(v.ID); rec.RecoveryCodes != 10 {
		f.Errorf("another user after a refused use of its code: %d codes left, want 10", rec.RecoveryCodes)
	}
}

func tfaRecoveryCodeConcurrent(f *fixture) {
	u := f.user("alice@example.com")
	_, codes := f.enableTFA(u, "alice")
	const n = 8
	errs := make([]error, n)
	f.race("ConsumeRecoveryCode of one code", n, func(ctx context.Context, i int) {
		errs[i] = f.s.ConsumeRecoveryCode(ctx, u.ID, codes[0])
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrNotFound):
			f.Errorf("ConsumeRecoveryCode under concurrency: %v; want nil or ErrNotFound", err)
		}
	}
	if wins != 1 {
		f.Errorf("%d concurrent uses of one recovery code succeeded, want exactly 1", wins)
	}
}

func tfaReplaceCodes(f *fixture) {
	u := f.user("alice@example.com")
	_, old := f.enableTFA(u, "old")
	fresh := codeHashes("fresh", 10)
	if err := f.s.ReplaceRecoveryCodes(f.ctx, u.ID, fresh); err != nil {
		f.Fatalf("ReplaceRecoveryCodes: %v", err)
	}
	f.wantErr("an old code after ReplaceRecoveryCodes", f.s.ConsumeRecoveryCode(f.ctx, u.ID, old[0]), store.ErrNotFound)
	if err := f.s.ConsumeRecoveryCode(f.ctx, u.ID, fresh[9]); err != nil {
		f.Errorf("a new code after ReplaceRecoveryCodes: %v", err)
	}
	if rec := f.getTFA(u.ID); rec.RecoveryCodes != 9 || rec.LastStep != 100 {
		f.Errorf("after ReplaceRecoveryCodes and one use: %d codes, last step %d; want 9, 100", rec.RecoveryCodes, rec.LastStep)
	}
}

func tfaGoesWithUser(f *fixture) {
	u := f.user("alice@example.com")
	f.enableTFA(u, "alice")
	if err := f.s.DeleteUsers(f.ctx, []string{u.ID}, store.Condition{}); err != nil {
		f.Fatalf("DeleteUsers: %v", err)
	}
	_, err := f.s.GetTwoFactor(f.ctx, u.ID)
	f.wantErr("GetTwoFactor of a deleted user", err, store.ErrNotFound)
	// A new user with the same id starts without one.
	again := newUser("alice@example.com")
	again.ID = u.ID
	f.createUser(again)
	if _, err := f.s.GetTwoFactor(f.ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		f.Errorf("a new user with a deleted user's id inherited its second factor (err = %v)", err)
	}
	if f.getUser(u.ID).TwoFactor {
		f.Errorf("a new user with a deleted user's id: TwoFactor true")
	}
}

func tfaEnforceRoundTrip(f *fixture) {
	r := newRole("strict")
	r.EnforceTFA = true
	if err := f.s.CreateRole(f.ctx, r); err != nil {
		f.Fatalf("CreateRole: %v", err)
	}
	lax := f.role("lax")
	p := newPolicy("strict")
	p.EnforceTFA = true
	if err := f.s.CreatePolicy(f.ctx, p); err != nil {
		f.Fatalf("CreatePolicy: %v", err)
	}
	if got, err := f.s.GetRole(f.ctx, r.ID); err != nil || !got.EnforceTFA {
		f.Errorf("GetRole: %+v, %v; want EnforceTFA true", got, err)
	}
	if got, err := f.s.GetRole(f.ctx, lax.ID); err != nil || got.EnforceTFA {
		f.Errorf("GetRole of a role without it: %+v, %v; want EnforceTFA false", got, err)
	}
	if got, err := f.s.GetPolicy(f.ctx, p.ID); err != nil || !got.EnforceTFA {
		f.Errorf("GetPolicy: %+v, %v; want EnforceTFA true", got, err)
	}
	roles, err := f.s.ListRoles(f.ctx)
	if err != nil {
		f.Fatalf("ListRoles: %v", err)
	}
	for _, got := range roles {
		if got.EnforceTFA != (got.ID == r.ID) {
			f.Errorf("ListRoles: %s has EnforceTFA %v", got.Name, got.EnforceTFA)
		}
	}
	policies, err := f.s.ListPolicies(f.ctx)
	if err != nil {
		f.Fatalf("ListPolicies: %v", err)
	}
	if len(policies) != 1 || !policies[0].EnforceTFA {
		f.Errorf("ListPolicies = %+v; want the one policy, EnforceTFA true", policies)
	}
}
