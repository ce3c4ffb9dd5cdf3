// Package storetest is the conformance suite for [store.Store] back-ends.
//
// The contract of a Store is written in the doc comments of package store
// ([store.Store] and the interfaces it is composed of); this package checks
// it. Every back-end in this module passes it, and a back-end written
// elsewhere should too.
//
// # Using it
//
// Call [Run] from a test in the back-end's package, with a function that
// returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			db := openTestDB(t) // registers t.Cleanup(db.Close)
//			return mystore.New(db)
//		})
//	}
//
// Run starts one sub-test per clause of the contract, named after the
// method and the clause: CreateUser/DuplicateEmailCaseInsensitive,
// ConsumeToken/SingleUseUnderConcurrency, Mail/ClaimLease… A failing clause
// can be run alone:
//
//	go test -run 'TestConformance/ConsumeToken/Expired' ./store/mystore
//
// # What the suite assumes
//
//   - newStore is called once per sub-test and returns an empty store. It
//     registers its own cleanup with t.Cleanup.
//   - Sub-tests run one after the other (the suite never calls
//     t.Parallel), so a factory may hand out the same database each time,
//     emptied. Some sub-tests call the store from many goroutines at once;
//     a back-end must handle that as it would in production (no
//     "database is locked" errors).
//   - Every user, mail and session id is a UUID string
//     (github.com/google/uuid); so are role and policy ids, except in the
//     clauses about Unicode (Roles/Unicode, ListUsers/UnicodeRoles), whose
//     role ids hold non-ASCII letters and emoji. Every email key is the
//     lower-cased address, every time derives from a fixed base
//     (2026-01-02 03:04:05 UTC); the suite never sleeps.
//   - Sub-tests that call the store from many goroutines give up after a
//     deadline of their own (a minute) and name the property that failed,
//     so a back-end that deadlocks fails there rather than at go test's
//     timeout.
//   - Times are compared to the millisecond, and must come back in UTC.
//   - Metadata is compared through its JSON encoding, so a back-end that
//     stores it as JSON (numbers come back as float64) passes.
//   - Policies are compared as sets: their order is not part of the
//     contract.
//
// The suite uses only the standard library's testing package, so that
// importing it pulls in no assertion library.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gousers/users/store"
)

// base is the suite's fixed clock: every time the suite passes derives
// from it.
var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const day = 24 * time.Hour

// clause is one sub-test: a rule of the contract.
type clause struct {
	name string
	run  func(f *fixture)
}

// group is the clauses about one method or one area.
type group struct {
	name    string
	clauses []clause
}

// Run checks that the stores newStore returns keep the store.Store
// contract. newStore must return a fresh, empty store each time it is
// called; it is called once per sub-test, with that sub-test's t.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.clauses {
				t.Run(c.name, func(t *testing.T) {
					s := newStore(t)
					if s == nil {
						t.Fatal("storetest: newStore returned nil")
					}
					c.run(&fixture{T: t, s: s, ctx: t.Context()})
				})
			}
		})
	}
}

func groups() []group {
	return []group{
		{"CreateUser", []clause{
			{"RoundTrip", createUserRoundTrip},
			{"DuplicateEmailCaseInsensitive", createUserDuplicateEmail},
			{"UnknownRole", createUserUnknownRole},
			{"UnknownPolicy", createUserUnknownPolicy},
			{"NoEmailManyUsers", createUserNoEmailManyUsers},
			{"WithEffects", createUserWithEffects},
		}},
		{"GetUser", []clause{
			{"NotFound", getUserNotFound},
		}},
		{"GetUserByEmailKey", []clause{
			{"Found", getUserByEmailKeyFound},
			{"NotFound", getUserByEmailKeyNotFound},
			{"ExactKey", getUserByEmailKeyExact},
			{"EmptyKey", getUserByEmailKeyEmpty},
		}},
		{"ListUsers", []clause{
			{"All", listUsersAll},
			{"ByRole", listUsersByRole},
			{"NoRole", listUsersNoRole},
			{"Order", listUsersOrder},
			{"LimitOffset", listUsersLimitOffset},
			{"IDs", listUsersIDs},
			{"FilterSemantics", listUsersFilterSemantics},
			{"FilterEveryOperator", listUsersFilterEveryOperator},
			{"FilterGroups", listUsersFilterGroups},
			{"Search", listUsersSearch},
			{"Sort", listUsersSort},
			{"PagesOfAQuery", listUsersPages},
			{"UnicodeRoles", listUsersUnicodeRoles},
		}},
		{"CountUsers", []clause{
			{"IgnoresSortAndPaging", countUsersIgnoresPaging},
			{"MatchesListUsers", countUsersMatchesList},
		}},
		{"UpdateUser", []clause{
			{"Fields", updateUserFields},
			{"ZeroChange", updateUserZeroChange},
			{"RemovePassword", updateUserRemovePassword},
			{"Condition", updateUserCondition},
			{"SetRoleNull", updateUserSetRoleNull},
			{"Policies", updateUserPolicies},
			{"DuplicateEmail", updateUserDuplicateEmail},
			{"Metadata", updateUserMetadata},
			{"NotFound", updateUserNotFound},
			{"UnknownRole", updateUserUnknownRole},
			{"UnknownPolicy", updateUserUnknownPolicy},
			{"WithEffects", updateUserWithEffects},
			{"ConditionEmailKey", updateUserConditionEmailKey},
			{"ConditionPasswordHash", updateUserConditionPasswordHash},
			{"KeepAdmin", updateUserKeepAdmin},
			{"KeepAdminNoAdminBefore", updateUserKeepAdminNoAdminBefore},
			{"KeepAdminUnderConcurrency", updateUserKeepAdminConcurrent},
			{"UnicodeAndDeepMetadata", updateUserUnicodeAndDeepMetadata},
		}},
		{"UpdateUsers", []clause{
			{"Applies", updateUsersApplies},
			{"AllOrNothing", updateUsersAllOrNothing},
			{"UnknownRole", updateUsersUnknownRole},
			{"UnknownPolicy", updateUsersUnknownPolicy},
			{"Condition", updateUsersCondition},
			{"KeepAdmin", updateUsersKeepAdmin},
			{"RevokeTokensAndEndSessions", updateUsersRevokeAndEnd},
		}},
		{"DeleteUsers", []clause{
			{"WithEverythingOfTheirs", deleteUsersEverything},
			{"KeepsSentAndFailedMail", deleteUsersKeepsSentMail},
			{"AllOrNothing", deleteUsersAllOrNothing},
			{"Condition", deleteUsersCondition},
			{"NoIDs", deleteUsersNoIDs},
			{"KeepAdmin", deleteUsersKeepAdmin},
			{"KeepAdminUnderConcurrency", deleteUsersKeepAdminConcurrent},
		}},
		{"Effects", []clause{
			{"RevokeTokens", effectsRevokeTokens},
			{"RevokeTokensInConsumeToken", effectsRevokeTokensInConsume},
			{"EndSessions", effectsEndSessions},
			{"EndSessionsInConsumeToken", effectsEndSessionsInConsume},
			{"NothingOnFailure", effectsNothingOnFailure},
			{"ChangeFieldsIgnored", effectsChangeFieldsIgnored},
		}},
		{"Token", []clause{
			{"RoundTrip", tokenRoundTrip},
			{"NotFound", tokenNotFound},
			{"ReissueRevokes", tokenReissueRevokes},
			{"ReissueInConsumeRevokes", tokenReissueInConsumeRevokes},
			{"ReissueKeepsConsumed", tokenReissueKeepsConsumed},
			{"EmailKeyRoundTrip", tokenEmailKeyRoundTrip},
		}},
		{"ConsumeToken", []clause{
			{"Success", consumeSuccess},
			{"WrongPurpose", consumeWrongPurpose},
			{"Unknown", consumeUnknown},
			{"Expired", consumeExpired},
			{"Used", consumeUsed},
			{"ConditionFails", consumeConditionFails},
			{"WithEffects", consumeWithEffects},
			{"SingleUseUnderConcurrency", consumeConcurrent},
			{"ConditionEmailKey", consumeConditionEmailKey},
			{"ConditionPasswordHash", consumeConditionPasswordHash},
		}},
		{"Roles", []clause{
			{"CreateGet", rolesCreateGet},
			{"ListOrder", rolesListOrder},
			{"NotFound", rolesNotFound},
			{"DuplicateID", rolesDuplicateID},
			{"Unicode", rolesUnicode},
		}},
		{"Policies", []clause{
			{"CreateGet", policiesCreateGet},
			{"ListOrder", policiesListOrder},
			{"NotFound", policiesNotFound},
			{"DuplicateID", policiesDuplicateID},
		}},
		{"Settings", []clause{
			{"NoneSaved", settingsNoneSaved},
			{"RoundTrip", settingsRoundTrip},
			{"Replace", settingsReplace},
		}},
		{"Mail", []clause{
			{"RoundTrip", mailRoundTrip},
			{"ClaimOrder", mailClaimOrder},
			{"ClaimRespectsNextAttempt", mailClaimNextAttempt},
			{"ClaimLease", mailClaimLease},
			{"ClaimLimit", mailClaimLimit},
			{"ConcurrentClaim", mailConcurrentClaim},
			{"UpdateRetryState", mailUpdateRetryState},
			{"UpdateNotFound", mailUpdateNotFound},
			{"List", mailList},
			{"MessageIDKept", mailMessageIDKept},
			{"Stats", mailStats},
		}},
		{"Sessions", []clause{
			{"CreateGet", sessionsCreateGet},
			{"CreateUnknownUser", sessionsCreateUnknownUser},
			{"CreateCondition", sessionsCreateCondition},
			{"GetNotFound", sessionsGetNotFound},
			{"Rotate", sessionsRotate},
			{"RotateUnknownHash", sessionsRotateUnknown},
			{"RotateExpired", sessionsRotateExpired},
			{"RotateConditionFails", sessionsRotateConditionFails},
			{"RotateReusedHashEndsSession", sessionsRotateReused},
			{"RotateUnderConcurrency", sessionsRotateConcurrent},
			{"Delete", sessionsDelete},
			{"DeleteByToken", sessionsDeleteByToken},
		}},
		{"PurgeExpired", []clause{
			{"SessionsAndTokens", purgeExpired},
		}},
		{"Errors", []clause{
			{"NoHashes", errorsNoHashes},
		}},
		{"Copies", []clause{
			{"User", copiesUser},
			{"RoleAndPolicy", copiesRoleAndPolicy},
			{"Token", copiesToken},
			{"Mail", copiesMail},
			{"Settings", copiesSettings},
			{"Session", copiesSession},
		}},
		{"Context", []clause{
			{"Cancelled", contextCancelled},
		}},
		{"Timestamps", []clause{
			{"UTC", timestampsUTC},
		}},
	}
}

// ---------------------------------------------------------------------------
// Fixture and helpers.

// fixture is one sub-test: its T, its fresh store, its context.
type fixture struct {
	*testing.T
	s   store.Store
	ctx context.Context
}

func ptr[T any](v T) *T { return &v }

func newID() string { return uuid.NewString() }

// emailKey stands in for the Manager's normalisation: the suite only needs
// equal keys for addresses that differ in case.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// newUser returns an active user with the given email (and its key; both
// empty for ""), created and last updated at base, with no role, no
// policies, no password.
func newUser(email string) *store.User {
	return &store.User{
		ID:        newID(),
		Email:     email,
		FirstName: "Ada",
		LastName:  "Lovelace",
		Status:    store.StatusActive,
		CreatedAt: base,
		UpdatedAt: base,
		EmailKey:  emailKey(email),
	}
}

// newRole returns a role without admin access.
func newRole(name string) *store.Role {
	return &store.Role{ID: newID(), Name: name, Description: "the " + name + " role"}
}

// newPolicy returns a policy without admin access.
func newPolicy(name string) *store.Policy {
	return &store.Policy{ID: newID(), Name: name}
}

// newToken returns an unconsumed token record for userID, created at base.
func newToken(userID string, purpose store.Purpose, expires time.Time) *store.Token {
	sum := sha256.Sum256([]byte(newID()))
	return &store.Token{
		Hash:      sum[:],
		Purpose:   purpose,
		UserID:    userID,
		CreatedAt: base,
		ExpiresAt: expires,
	}
}

// newMail returns a pending mail for userID, due at its creation.
func newMail(userID, to string, created time.Time) *store.Mail {
	id := newID()
	return &store.Mail{
		ID:            id,
		MessageID:     "<" + id + "@mail.example.com>",
		Kind:          "verify-email",
		UserID:        userID,
		To:            to,
		Subject:       "Verify your email address",
		Text:          "Open https://example.com/verify?token=t-" + id,
		HTML:          `<a href="https://example.com/verify?token=t-` + id + `">Verify</a>`,
		Status:        store.MailPending,
		CreatedAt:     created,
		NextAttemptAt: created,
	}
}

// createUser stores u, which must succeed.
func (f *fixture) createUser(u *store.User) *store.User {
	f.Helper()
	return f.createUserFx(u, store.Effects{})
}

func (f *fixture) createUserFx(u *store.User, fx store.Effects) *store.User {
	f.Helper()
	if err := f.s.CreateUser(f.ctx, u, fx); err != nil {
		f.Fatalf("CreateUser(%s): %v", u.Email, err)
	}
	return u
}

// user creates a user with newUser(email).
func (f *fixture) user(email string) *store.User {
	f.Helper()
	return f.createUser(newUser(email))
}

func (f *fixture) role(name string) *store.Role {
	f.Helper()
	r := newRole(name)
	if err := f.s.CreateRole(f.ctx, r); err != nil {
		f.Fatalf("CreateRole(%s): %v", name, err)
	}
	return r
}

func (f *fixture) policy(name string) *store.Policy {
	f.Helper()
	p := newPolicy(name)
	if err := f.s.CreatePolicy(f.ctx, p); err != nil {
		f.Fatalf("CreatePolicy(%s): %v", name, err)
	}
	return p
}

func (f *fixture) getUser(id string) *store.User {
	f.Helper()
	u, err := f.s.GetUser(f.ctx, id)
	if err != nil {
		f.Fatalf("GetUser: %v", err)
	}
	if u == nil {
		f.Fatal("GetUser returned a nil user and no error")
	}
	return u
}

func (f *fixture) listUsers(q store.UserQuery) []*store.User {
	f.Helper()
	us, err := f.s.ListUsers(f.ctx, q)
	if err != nil {
		f.Fatalf("ListUsers(%+v): %v", q, err)
	}
	return us
}

// update applies ch (and fx) to user id, which must succeed.
func (f *fixture) update(id string, ch store.UserChange, fx store.Effects) *store.User {
	f.Helper()
	u, err := f.s.UpdateUser(f.ctx, id, store.Condition{}, ch, fx)
	if err != nil {
		f.Fatalf("UpdateUser: %v", err)
	}
	if u == nil {
		f.Fatal("UpdateUser returned a nil user and no error")
	}
	return u
}

// issue stores tok through UpdateUser's effects, as the Manager does.
func (f *fixture) issue(tok *store.Token) {
	f.Helper()
	f.update(tok.UserID, store.UserChange{UpdatedAt: base}, store.Effects{Token: tok})
}

// enqueue stores m through UpdateUser's effects, as the Manager does.
func (f *fixture) enqueue(m *store.Mail) {
	f.Helper()
	f.update(m.UserID, store.UserChange{UpdatedAt: base}, store.Effects{Mail: m})
}

func (f *fixture) getToken(hash []byte) *store.Token {
	f.Helper()
	tok, err := f.s.GetToken(f.ctx, hash)
	if err != nil {
		f.Fatalf("GetToken: %v", err)
	}
	if tok == nil {
		f.Fatal("GetToken returned a nil token and no error")
	}
	return tok
}

// tokenGone asserts that no token with hash is stored.
func (f *fixture) tokenGone(hash []byte, what string) {
	f.Helper()
	if tok, err := f.s.GetToken(f.ctx, hash); !errors.Is(err, store.ErrNotFound) {
		f.Errorf("%s: GetToken = %+v, %v; want ErrNotFound", what, tok, err)
	}
}

// tokenLive asserts that the token is stored and not consumed.
func (f *fixture) tokenLive(hash []byte, what string) {
	f.Helper()
	tok, err := f.s.GetToken(f.ctx, hash)
	switch {
	case err != nil:
		f.Errorf("%s: GetToken: %v; want the unconsumed token", what, err)
	case tok.ConsumedAt != nil:
		f.Errorf("%s: token consumed at %v; want unconsumed", what, tok.ConsumedAt)
	}
}

func (f *fixture) listMail(q store.MailQuery) []*store.Mail {
	f.Helper()
	ms, err := f.s.ListMail(f.ctx, q)
	if err != nil {
		f.Fatalf("ListMail(%+v): %v", q, err)
	}
	return ms
}

func (f *fixture) claim(now, leaseUntil time.Time, limit int) []*store.Mail {
	f.Helper()
	ms, err := f.s.ClaimMail(f.ctx, now, leaseUntil, limit)
	if err != nil {
		f.Fatalf("ClaimMail: %v", err)
	}
	return ms
}

// onlyMail returns the one mail in the outbox.
func (f *fixture) onlyMail() *store.Mail {
	f.Helper()
	ms := f.listMail(store.MailQuery{})
	if len(ms) != 1 {
		f.Fatalf("ListMail: %d mails, want 1", len(ms))
	}
	return ms[0]
}

// noMail asserts that the outbox is empty.
func (f *fixture) noMail(what string) {
	f.Helper()
	if ms := f.listMail(store.MailQuery{}); len(ms) != 0 {
		f.Errorf("%s: outbox holds %d mails, want none", what, len(ms))
	}
}

// userGone asserts that no user has the given id.
func (f *fixture) userGone(id, what string) {
	f.Helper()
	if u, err := f.s.GetUser(f.ctx, id); !errors.Is(err, store.ErrNotFound) {
		f.Errorf("%s: GetUser = %+v, %v; want ErrNotFound", what, u, err)
	}
}

// wantErr asserts that err matches target.
func (f *fixture) wantErr(what string, err, target error) {
	f.Helper()
	if !errors.Is(err, target) {
		f.Errorf("%s: err = %v, want one matching %v", what, err, target)
	}
}

// checkUser reports every field of got that differs from want.
func (f *fixture) checkUser(what string, got, want *store.User) {
	f.Helper()
	if got == nil {
		f.Errorf("%s: nil user", what)
		return
	}
	for _, d := range diffUser(got, want) {
		f.Errorf("%s: %s", what, d)
	}
}

// checkMail reports every field of got that differs from want.
func (f *fixture) checkMail(what string, got, want *store.Mail) {
	f.Helper()
	if got == nil {
		f.Errorf("%s: nil mail", what)
		return
	}
	for _, d := range diffMail(got, want) {
		f.Errorf("%s: %s", what, d)
	}
}

// checkIDs asserts that got lists exactly the ids in want, in that order.
func (f *fixture) checkIDs(what string, got, want []string) {
	f.Helper()
	if !slices.Equal(got, want) {
		f.Errorf("%s:\n got ids %v\nwant ids %v", what, got, want)
	}
}

func userIDs(us []*store.User) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

func mailIDs(ms []*store.Mail) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// sortUsers orders us as ListUsers must: CreatedAt, then ID.
func sortUsers(us []*store.User) {
	slices.SortFunc(us, func(a, b *store.User) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// sortMail orders ms as ClaimMail and ListMail must: CreatedAt, then ID.
func sortMail(ms []*store.Mail) {
	slices.SortFunc(ms, func(a, b *store.Mail) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

type differ []string

func (d *differ) add(format string, args ...any) { *d = append(*d, fmt.Sprintf(format, args...)) }

func (d *differ) str(field, got, want string) {
	if got != want {
		d.add("%s = %q, want %q", field, got, want)
	}
}

func (d *differ) time(field string, got, want time.Time) {
	if s := timeDiff(got, want); s != "" {
		d.add("%s %s", field, s)
	}
}

func (d *differ) timePtr(field string, got, want *time.Time) {
	switch {
	case got == nil && want == nil:
	case got == nil:
		d.add("%s = nil, want %v", field, *want)
	case want == nil:
		d.add("%s = %v, want nil", field, *got)
	default:
		d.time(field, *got, *want)
	}
}

// timeDiff describes how got differs from want: not in UTC, or not the
// same instant to the millisecond. "" when it does not.
func timeDiff(got, want time.Time) string {
	if got.Location() != time.UTC {
		return fmt.Sprintf("= %v, not in UTC", got)
	}
	if d := got.Sub(want); d <= -time.Millisecond || d >= time.Millisecond {
		return fmt.Sprintf("= %v, want %v (to the millisecond)", got, want.UTC())
	}
	return ""
}

func roleString(r *string) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *r)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// metaJSON is the comparable form of a metadata map; empty and nil are the
// same.
func metaJSON(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprintf("<cannot encode: %v>", err)
	}
	return string(b)
}

func diffUser(got, want *store.User) []string {
	var d differ
	d.str("ID", got.ID, want.ID)
	d.str("Email", got.Email, want.Email)
	d.str("EmailKey", got.EmailKey, want.EmailKey)
	d.str("PasswordHash", got.PasswordHash, want.PasswordHash)
	d.str("FirstName", got.FirstName, want.FirstName)
	d.str("LastName", got.LastName, want.LastName)
	d.str("Status", string(got.Status), string(want.Status))
	if got.Contested != want.Contested {
		d.add("Contested = %v, want %v", got.Contested, want.Contested)
	}
	if roleString(got.Role) != roleString(want.Role) {
		d.add("Role = %s, want %s", roleString(got.Role), roleString(want.Role))
	}
	if g, w := sortedCopy(got.Policies), sortedCopy(want.Policies); !slices.Equal(g, w) {
		d.add("Policies = %v, want %v (in any order)", g, w)
	}
	if g, w := metaJSON(got.Metadata), metaJSON(want.Metadata); g != w {
		d.add("Metadata = %s, want %s", g, w)
	}
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	return d
}

func diffMail(got, want *store.Mail) []string {
	var d differ
	d.str("ID", got.ID, want.ID)
	d.str("MessageID", got.MessageID, want.MessageID)
	d.str("Kind", string(got.Kind), string(want.Kind))
	d.str("UserID", got.UserID, want.UserID)
	d.str("To", got.To, want.To)
	d.str("Subject", got.Subject, want.Subject)
	d.str("Text", got.Text, want.Text)
	d.str("HTML", got.HTML, want.HTML)
	d.str("Status", string(got.Status), string(want.Status))
	if got.Attempts != want.Attempts {
		d.add("Attempts = %d, want %d", got.Attempts, want.Attempts)
	}
	d.str("LastError", got.LastError, want.LastError)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
	d.timePtr("LeaseUntil", got.LeaseUntil, want.LeaseUntil)
	d.timePtr("SentAt", got.SentAt, want.SentAt)
	return d
}

func diffToken(got, want *store.Token) []string {
	var d differ
	if !bytes.Equal(got.Hash, want.Hash) {
		d.add("Hash = %x, want %x", got.Hash, want.Hash)
	}
	d.str("Purpose", string(got.Purpose), string(want.Purpose))
	d.str("UserID", got.UserID, want.UserID)
	d.str("EmailKey", got.EmailKey, want.EmailKey)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.timePtr("ConsumedAt", got.ConsumedAt, want.ConsumedAt)
	return d
}

func (f *fixture) checkToken(what string, got, want *store.Token) {
	f.Helper()
	if got == nil {
		f.Errorf("%s: nil token", what)
		return
	}
	for _, d := range diffToken(got, want) {
		f.Errorf("%s: %s", what, d)
	}
}

// clone returns a deep copy of u, for the expected value of a change.
func clone(u *store.User) *store.User {
	c := *u
	if u.Role != nil {
		c.Role = ptr(*u.Role)
	}
	c.Policies = slices.Clone(u.Policies)
	if u.Metadata != nil {
		b, err := json.Marshal(u.Metadata)
		if err != nil {
			panic(err)
		}
		c.Metadata = nil
		if err := json.Unmarshal(b, &c.Metadata); err != nil {
			panic(err)
		}
	}
	return &c
}

// ---------------------------------------------------------------------------
// CreateUser

func createUserRoundTrip(f *fixture) {
	r := f.role("editor")
	p1, p2 := f.policy("content"), f.policy("files")
	u := newUser("Alice@Example.com")
	u.FirstName, u.LastName = "Alice", "Liddell"
	u.Status = store.StatusInvited
	u.Role = ptr(r.ID)
	u.Policies = []string{p1.ID, p2.ID}
	u.Metadata = map[string]any{"plan": "pro", "seats": 3.0, "beta": true, "tags": []any{"a", "b"}, "address": map[string]any{"city": "Oxford"}}
	u.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
	u.Contested = true
	u.CreatedAt = base.Add(-time.Hour)
	u.UpdatedAt = base
	want := clone(u)
	f.createUser(u)
	f.checkUser("GetUser after CreateUser", f.getUser(u.ID), want)

	bare := f.user("")
	f.checkUser("GetUser of a user without email, role, policies or metadata", f.getUser(bare.ID), bare)
}

func createUserDuplicateEmail(f *fixture) {
	first := f.user("Alice@Example.com")
	dup := newUser("ALICE@example.COM")
	if dup.EmailKey != first.EmailKey {
		f.Fatalf("suite bug: keys %q and %q differ", dup.EmailKey, first.EmailKey)
	}
	f.wantErr("CreateUser with another user's email key", f.s.CreateUser(f.ctx, dup, store.Effects{}), store.ErrDuplicateEmail)
	f.userGone(dup.ID, "after a duplicate CreateUser")
	f.checkUser("first user after a duplicate CreateUser", f.getUser(first.ID), first)
	if us := f.listUsers(store.UserQuery{}); len(us) != 1 {
		f.Errorf("ListUsers after a duplicate CreateUser: %d users, want 1", len(us))
	}
}

func createUserUnknownRole(f *fixture) {
	u := newUser("alice@example.com")
	u.Role = ptr(newID())
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	fx := store.Effects{Token: tok, Mail: newMail(u.ID, u.Email, base)}
	f.wantErr("CreateUser with an unknown role", f.s.CreateUser(f.ctx, u, fx), store.ErrRoleNotFound)
	f.userGone(u.ID, "after CreateUser with an unknown role")
	f.tokenGone(tok.Hash, "after CreateUser with an unknown role")
	f.noMail("after CreateUser with an unknown role")

	// The same address is free: nothing was reserved.
	u2 := newUser("alice@example.com")
	f.createUser(u2)
}

func createUserUnknownPolicy(f *fixture) {
	p := f.policy("content")
	u := newUser("alice@example.com")
	u.Policies = []string{p.ID, newID()}
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	fx := store.Effects{Token: tok, Mail: newMail(u.ID, u.Email, base)}
	f.wantErr("CreateUser with an unknown policy", f.s.CreateUser(f.ctx, u, fx), store.ErrPolicyNotFound)
	f.userGone(u.ID, "after CreateUser with an unknown policy")
	f.tokenGone(tok.Hash, "after CreateUser with an unknown policy")
	f.noMail("after CreateUser with an unknown policy")
	f.createUser(newUser("alice@example.com"))
}

func createUserNoEmailManyUsers(f *fixture) {
	var want []*store.User
	for i := range 3 {
		u := newUser("")
		u.CreatedAt = base.Add(time.Duration(i) * time.Second)
		want = append(want, f.createUser(u))
	}
	got := f.listUsers(store.UserQuery{})
	f.checkIDs("ListUsers after three users without email", userIDs(got), userIDs(want))
	for i, u := range got {
		if i < len(want) {
			f.checkUser("user without email", u, want[i])
		}
	}
	// Removing an email frees nothing but must not clash with the others.
	other := f.user("bob@example.com")
	f.update(other.ID, store.UserChange{Email: ptr(""), EmailKey: ptr(""), UpdatedAt: base.Add(time.Minute)}, store.Effects{})
	if got := f.getUser(other.ID); got.Email != "" || got.EmailKey != "" {
		f.Errorf("after removing the email: Email %q, EmailKey %q; want both empty", got.Email, got.EmailKey)
	}
}

func createUserWithEffects(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	tok := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	m := newMail(u.ID, u.Email, base)
	f.createUserFx(u, store.Effects{Token: tok, Mail: m})
	f.checkToken("GetToken after CreateUser with a token", f.getToken(tok.Hash), tok)
	ms := f.listMail(store.MailQuery{})
	if len(ms) != 1 {
		f.Fatalf("ListMail after CreateUser with a mail: %d mails, want 1", len(ms))
	}
	f.checkMail("mail written by CreateUser", ms[0], m)

	// A duplicate email writes neither the token nor the mail.
	dup := newUser("ALICE@example.com")
	dupTok := newToken(dup.ID, store.PurposeVerifyEmail, base.Add(day))
	dupMail := newMail(dup.ID, dup.Email, base.Add(time.Second))
	err := f.s.CreateUser(f.ctx, dup, store.Effects{Token: dupTok, Mail: dupMail})
	f.wantErr("CreateUser with a duplicate email and effects", err, store.ErrDuplicateEmail)
	f.tokenGone(dupTok.Hash, "token of a duplicate CreateUser")
	f.checkIDs("ListMail after a duplicate CreateUser", mailIDs(f.listMail(store.MailQuery{})), []string{m.ID})
	f.tokenLive(tok.Hash, "first user's token after a duplicate CreateUser")
}

// ---------------------------------------------------------------------------
// GetUser, GetUserByEmailKey

func getUserNotFound(f *fixture) {
	_, err := f.s.GetUser(f.ctx, newID())
	f.wantErr("GetUser on an empty store", err, store.ErrNotFound)
	f.user("alice@example.com")
	_, err = f.s.GetUser(f.ctx, newID())
	f.wantErr("GetUser of an unknown id", err, store.ErrNotFound)
}

func getUserByEmailKeyFound(f *fixture) {
	u := f.user("Alice@Example.com")
	f.user("bob@example.com")
	got, err := f.s.GetUserByEmailKey(f.ctx, "alice@example.com")
	if err != nil {
		f.Fatalf("GetUserByEmailKey: %v", err)
	}
	f.checkUser("GetUserByEmailKey", got, u)
}

func getUserByEmailKeyNotFound(f *fixture) {
	_, err := f.s.GetUserByEmailKey(f.ctx, "alice@example.com")
	f.wantErr("GetUserByEmailKey on an empty store", err, store.ErrNotFound)
	f.user("bob@example.com")
	_, err = f.s.GetUserByEmailKey(f.ctx, "alice@example.com")
	f.wantErr("GetUserByEmailKey of an unknown key", err, store.ErrNotFound)
}

// The Store compares keys exactly: normalising is the Manager's job.
func getUserByEmailKeyExact(f *fixture) {
	f.user("alice@example.com")
	_, err := f.s.GetUserByEmailKey(f.ctx, "Alice@Example.com")
	f.wantErr("GetUserByEmailKey with a key that differs in case", err, store.ErrNotFound)
	_, err = f.s.GetUserByEmailKey(f.ctx, "alice@example.co")
	f.wantErr("GetUserByEmailKey with a prefix of a key", err, store.ErrNotFound)
}

// An empty key means "no email": it names no user, even when users without
// email exist.
func getUserByEmailKeyEmpty(f *fixture) {
	f.user("")
	f.user("")
	u, err := f.s.GetUserByEmailKey(f.ctx, "")
	if !errors.Is(err, store.ErrNotFound) {
		f.Errorf("GetUserByEmailKey(\"\") with users without email: %+v, %v; want ErrNotFound", u, err)
	}
}

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
// UpdateUser

func updateUserFields(f *fixture) {
	r1, r2 := f.role("editor"), f.role("viewer")
	p1, p2, p3 := f.policy("a"), f.policy("b"), f.policy("c")
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	u.Role = ptr(r1.ID)
	u.Policies = []string{p1.ID, p2.ID}
	u.PasswordHash = "old-hash"
	u.Metadata = map[string]any{"plan": "free"}
	f.createUser(u)

	at := base.Add(time.Hour)
	ch := store.UserChange{
		Email:        ptr("Alice.Smith@Example.org"),
		EmailKey:     ptr("alice.smith@example.org"),
		PasswordHash: ptr("new-hash"),
		FirstName:    ptr("Alicia"),
		LastName:     ptr("Smith"),
		Status:       ptr(store.StatusActive),
		SetRole:      true,
		Role:         ptr(r2.ID),
		SetPolicies:  true,
		Policies:     []string{p3.ID, p1.ID},
		Contested:    ptr(true),
		Metadata:     map[string]any{"plan": "pro", "seats": 5.0},
		UpdatedAt:    at,
	}
	want := clone(u)
	want.Email, want.EmailKey, want.PasswordHash = *ch.Email, *ch.EmailKey, *ch.PasswordHash
	want.FirstName, want.LastName, want.Status = *ch.FirstName, *ch.LastName, *ch.Status
	want.Role, want.Policies, want.Contested = ptr(r2.ID), []string{p3.ID, p1.ID}, true
	want.Metadata = map[string]any{"plan": "pro", "seats": 5.0}
	want.UpdatedAt = at

	got := f.update(u.ID, ch, store.Effects{})
	f.checkUser("UpdateUser result", got, want)
	f.checkUser("GetUser after UpdateUser", f.getUser(u.ID), want)
	byKey, err := f.s.GetUserByEmailKey(f.ctx, "alice.smith@example.org")
	if err != nil {
		f.Fatalf("GetUserByEmailKey of the new key: %v", err)
	}
	f.checkUser("GetUserByEmailKey of the new key", byKey, want)
	_, err = f.s.GetUserByEmailKey(f.ctx, "alice@example.com")
	f.wantErr("GetUserByEmailKey of the old key", err, store.ErrNotFound)
	// The old address is free again.
	f.user("alice@example.com")

	// Contested can be cleared again.
	got = f.update(u.ID, store.UserChange{Contested: ptr(false), UpdatedAt: at}, store.Effects{})
	if got.Contested {
		f.Error("UpdateUser with Contested false: Contested = true")
	}
}

func updateUserZeroChange(f *fixture) {
	r, other := f.role("editor"), f.role("viewer")
	p, otherP := f.policy("a"), f.policy("b")
	u := newUser("alice@example.com")
	u.Role = ptr(r.ID)
	u.Policies = []string{p.ID}
	u.PasswordHash = "hash"
	u.Contested = true
	u.Metadata = map[string]any{"k": "v"}
	f.createUser(u)

	at := base.Add(time.Hour)
	want := clone(u)
	want.UpdatedAt = at
	// Role and Policies without SetRole and SetPolicies are ignored.
	got := f.update(u.ID, store.UserChange{Role: ptr(other.ID), Policies: []string{otherP.ID}, UpdatedAt: at}, store.Effects{})
	f.checkUser("UpdateUser with only UpdatedAt (and Role, Policies without their Set flags)", got, want)
	f.checkUser("GetUser after it", f.getUser(u.ID), want)
}

func updateUserRemovePassword(f *fixture) {
	u := newUser("alice@example.com")
	u.PasswordHash = "hash"
	f.createUser(u)
	got := f.update(u.ID, store.UserChange{PasswordHash: ptr(""), UpdatedAt: base.Add(time.Minute)}, store.Effects{})
	if got.PasswordHash != "" {
		f.Errorf("after removing the password: PasswordHash %q, want empty", got.PasswordHash)
	}
	got = f.update(u.ID, store.UserChange{PasswordHash: ptr("again"), UpdatedAt: base.Add(2 * time.Minute)}, store.Effects{})
	if got.PasswordHash != "again" {
		f.Errorf("after setting a password: PasswordHash %q, want %q", got.PasswordHash, "again")
	}
}

func updateUserCondition(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusInvited
	f.createUser(u)
	ch := store.UserChange{FirstName: ptr("Changed"), Status: ptr(store.StatusActive), UpdatedAt: base.Add(time.Hour)}

	for _, cond := range []store.Condition{
		{Status: store.StatusUnverified},
		{Contested: ptr(true)},
		{Status: store.StatusInvited, Contested: ptr(true)},
		{Status: store.StatusActive, Contested: ptr(false)},
	} {
		tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
		m := newMail(u.ID, u.Email, base)
		_, err := f.s.UpdateUser(f.ctx, u.ID, cond, ch, store.Effects{Token: tok, Mail: m})
		what := fmt.Sprintf("UpdateUser with an unmet condition (status %q, contested %s)", cond.Status, boolString(cond.Contested))
		f.wantErr(what, err, store.ErrConflict)
		f.checkUser(what+": user", f.getUser(u.ID), u)
		f.tokenGone(tok.Hash, what+": token")
		f.noMail(what)
	}

	// A condition that holds lets the change through.
	want := clone(u)
	want.FirstName, want.Status, want.UpdatedAt = "Changed", store.StatusActive, base.Add(time.Hour)
	got, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{Status: store.StatusInvited, Contested: ptr(false)}, ch, store.Effects{})
	if err != nil {
		f.Fatalf("UpdateUser with a condition that holds: %v", err)
	}
	f.checkUser("UpdateUser with a condition that holds", got, want)
	// Now the same condition no longer holds.
	_, err = f.s.UpdateUser(f.ctx, u.ID, store.Condition{Status: store.StatusInvited}, store.UserChange{FirstName: ptr("Again"), UpdatedAt: base.Add(2 * time.Hour)}, store.Effects{})
	f.wantErr("UpdateUser whose condition the previous update broke", err, store.ErrConflict)
	f.checkUser("user after it", f.getUser(u.ID), want)

	// Contested as a condition.
	f.update(u.ID, store.UserChange{Contested: ptr(true), UpdatedAt: base.Add(3 * time.Hour)}, store.Effects{})
	if _, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{Contested: ptr(true)}, store.UserChange{UpdatedAt: base.Add(4 * time.Hour)}, store.Effects{}); err != nil {
		f.Errorf("UpdateUser with Contested true on a contested user: %v", err)
	}
}

func boolString(b *bool) string {
	if b == nil {
		return "<any>"
	}
	return fmt.Sprint(*b)
}

func updateUserSetRoleNull(f *fixture) {
	r := f.role("editor")
	u := newUser("alice@example.com")
	u.Role = ptr(r.ID)
	f.createUser(u)
	got := f.update(u.ID, store.UserChange{SetRole: true, Role: nil, UpdatedAt: base.Add(time.Minute)}, store.Effects{})
	if got.Role != nil {
		f.Errorf("UpdateUser with SetRole and a nil Role: Role = %q, want nil", *got.Role)
	}
	if got := f.getUser(u.ID); got.Role != nil {
		f.Errorf("GetUser after the role was removed: Role = %q, want nil", *got.Role)
	}
	got = f.update(u.ID, store.UserChange{SetRole: true, Role: ptr(r.ID), UpdatedAt: base.Add(2 * time.Minute)}, store.Effects{})
	if roleString(got.Role) != roleString(&r.ID) {
		f.Errorf("UpdateUser setting the role back: Role = %s, want %q", roleString(got.Role), r.ID)
	}
}

func updateUserPolicies(f *fixture) {
	a, b, c := f.policy("a"), f.policy("b"), f.policy("c")
	u := newUser("alice@example.com")
	u.Policies = []string{a.ID}
	f.createUser(u)
	want := clone(u)

	step := func(what string, ch store.UserChange, policies []string) {
		f.Helper()
		ch.UpdatedAt = base.Add(time.Minute)
		got := f.update(u.ID, ch, store.Effects{})
		want.Policies, want.UpdatedAt = policies, ch.UpdatedAt
		f.checkUser(what, got, want)
		f.checkUser(what+" (GetUser)", f.getUser(u.ID), want)
	}
	step("SetPolicies with two policies", store.UserChange{SetPolicies: true, Policies: []string{b.ID, c.ID}}, []string{b.ID, c.ID})
	want.FirstName = "X"
	step("UpdateUser without SetPolicies", store.UserChange{FirstName: ptr("X")}, []string{b.ID, c.ID})
	step("SetPolicies with a nil list", store.UserChange{SetPolicies: true}, nil)
	step("SetPolicies with all three", store.UserChange{SetPolicies: true, Policies: []string{c.ID, a.ID, b.ID}}, []string{a.ID, b.ID, c.ID})
	step("SetPolicies with an empty list", store.UserChange{SetPolicies: true, Policies: []string{}}, nil)

	// Another user's policies are their own.
	v := newUser("bob@example.com")
	v.Policies = []string{a.ID}
	f.createUser(v)
	step("SetPolicies on the first user", store.UserChange{SetPolicies: true, Policies: []string{b.ID}}, []string{b.ID})
	f.checkUser("the other user", f.getUser(v.ID), v)
}

func updateUserDuplicateEmail(f *fixture) {
	a := f.user("alice@example.com")
	b := f.user("bob@example.com")
	tok := newToken(b.ID, store.PurposeVerifyEmail, base.Add(day))
	m := newMail(b.ID, "Alice@Example.com", base)
	_, err := f.s.UpdateUser(f.ctx, b.ID, store.Condition{}, store.UserChange{
		Email: ptr("Alice@Example.com"), EmailKey: ptr("alice@example.com"), FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
	}, store.Effects{Token: tok, Mail: m})
	f.wantErr("UpdateUser to another user's email key", err, store.ErrDuplicateEmail)
	f.checkUser("user after a duplicate UpdateUser", f.getUser(b.ID), b)
	f.checkUser("other user after a duplicate UpdateUser", f.getUser(a.ID), a)
	f.tokenGone(tok.Hash, "after a duplicate UpdateUser")
	f.noMail("after a duplicate UpdateUser")

	// A user may keep its own key (a change of case in the address).
	got, err := f.s.UpdateUser(f.ctx, a.ID, store.Condition{}, store.UserChange{
		Email: ptr("ALICE@example.com"), EmailKey: ptr("alice@example.com"), UpdatedAt: base.Add(time.Hour),
	}, store.Effects{})
	if err != nil {
		f.Fatalf("UpdateUser keeping its own email key: %v", err)
	}
	if got.Email != "ALICE@example.com" {
		f.Errorf("Email = %q, want %q", got.Email, "ALICE@example.com")
	}
	// Two users may both drop their email.
	for _, id := range []string{a.ID, b.ID} {
		f.update(id, store.UserChange{Email: ptr(""), EmailKey: ptr(""), UpdatedAt: base.Add(2 * time.Hour)}, store.Effects{})
	}
}

func updateUserMetadata(f *fixture) {
	u := newUser("alice@example.com")
	u.Metadata = map[string]any{
		"plan":    "pro",
		"seats":   3.0,
		"beta":    true,
		"nothing": nil,
		"tags":    []any{"a", 1.5, false},
		"address": map[string]any{"city": "Oxford", "zip": "OX1"},
	}
	f.createUser(u)
	f.checkUser("GetUser with metadata", f.getUser(u.ID), u)
	want := clone(u)

	step := func(what string, meta map[string]any, wantMeta map[string]any) {
		f.Helper()
		got := f.update(u.ID, store.UserChange{Metadata: meta, UpdatedAt: base.Add(time.Minute)}, store.Effects{})
		want.Metadata, want.UpdatedAt = wantMeta, base.Add(time.Minute)
		f.checkUser(what, got, want)
		f.checkUser(what+" (GetUser)", f.getUser(u.ID), want)
	}
	step("UpdateUser with nil Metadata keeps it", nil, clone(u).Metadata)
	step("UpdateUser with Metadata replaces it (no merge)", map[string]any{"plan": "free"}, map[string]any{"plan": "free"})
	step("UpdateUser with an empty Metadata clears it", map[string]any{}, nil)
}

func updateUserNotFound(f *fixture) {
	u := f.user("alice@example.com")
	id := newID()
	tok := newToken(id, store.PurposeInvite, base.Add(day))
	m := newMail(id, "ghost@example.com", base)
	_, err := f.s.UpdateUser(f.ctx, id, store.Condition{}, store.UserChange{FirstName: ptr("X"), UpdatedAt: base}, store.Effects{Token: tok, Mail: m})
	f.wantErr("UpdateUser of an unknown id", err, store.ErrNotFound)
	_, err = f.s.UpdateUser(f.ctx, id, store.Condition{Status: store.StatusInvited}, store.UserChange{FirstName: ptr("X"), UpdatedAt: base}, store.Effects{})
	f.wantErr("UpdateUser of an unknown id with a condition", err, store.ErrNotFound)
	f.userGone(id, "after UpdateUser of an unknown id")
	f.tokenGone(tok.Hash, "after UpdateUser of an unknown id")
	f.noMail("after UpdateUser of an unknown id")
	f.checkUser("the existing user", f.getUser(u.ID), u)
}

func updateUserUnknownRole(f *fixture) {
	u := f.user("alice@example.com")
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	_, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{}, store.UserChange{
		SetRole: true, Role: ptr(newID()), FirstName: ptr("X"), UpdatedAt: base.Add(time.Hour),
	}, store.Effects{Token: tok, Mail: newMail(u.ID, u.Email, base)})
	f.wantErr("UpdateUser with an unknown role", err, store.ErrRoleNotFound)
	f.checkUser("user after it", f.getUser(u.ID), u)
	f.tokenGone(tok.Hash, "after UpdateUser with an unknown role")
	f.noMail("after UpdateUser with an unknown role")
}

func updateUserUnknownPolicy(f *fixture) {
	p := f.policy("a")
	u := newUser("alice@example.com")
	u.Policies = []string{p.ID}
	f.createUser(u)
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	_, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{}, store.UserChange{
		SetPolicies: true, Policies: []string{newID(), p.ID}, FirstName: ptr("X"), UpdatedAt: base.Add(time.Hour),
	}, store.Effects{Token: tok, Mail: newMail(u.ID, u.Email, base)})
	f.wantErr("UpdateUser with an unknown policy", err, store.ErrPolicyNotFound)
	f.checkUser("user after it", f.getUser(u.ID), u)
	f.tokenGone(tok.Hash, "after UpdateUser with an unknown policy")
	f.noMail("after UpdateUser with an unknown policy")
}

func updateUserWithEffects(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusInvited
	f.createUser(u)
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	m := newMail(u.ID, u.Email, base.Add(time.Minute))
	m.Kind = "invite"
	got, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{Status: store.StatusInvited}, store.UserChange{
		FirstName: ptr("Invited"), UpdatedAt: base.Add(time.Minute),
	}, store.Effects{Token: tok, Mail: m})
	if err != nil {
		f.Fatalf("UpdateUser with effects: %v", err)
	}
	if got.FirstName != "Invited" {
		f.Errorf("FirstName = %q, want %q", got.FirstName, "Invited")
	}
	f.checkToken("GetToken after UpdateUser with a token", f.getToken(tok.Hash), tok)
	ms := f.listMail(store.MailQuery{})
	f.checkIDs("ListMail after UpdateUser with a mail", mailIDs(ms), []string{m.ID})
	if len(ms) == 1 {
		f.checkMail("mail written by UpdateUser", ms[0], m)
	}
}

// ---------------------------------------------------------------------------
// UpdateUsers

func updateUsersApplies(f *fixture) {
	r := f.role("editor")
	p := f.policy("a")
	a, b, c := f.user("a@example.com"), f.user("b@example.com"), f.user("c@example.com")
	at := base.Add(time.Hour)
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{}, store.UserChange{
		SetRole: true, Role: ptr(r.ID), SetPolicies: true, Policies: []string{p.ID}, Status: ptr(store.StatusSuspended), UpdatedAt: at,
	})
	if err != nil {
		f.Fatalf("UpdateUsers: %v", err)
	}
	for _, u := range []*store.User{a, b} {
		want := clone(u)
		want.Role, want.Policies, want.Status, want.UpdatedAt = ptr(r.ID), []string{p.ID}, store.StatusSuspended, at
		f.checkUser("user after UpdateUsers", f.getUser(u.ID), want)
	}
	f.checkUser("user not in UpdateUsers' ids", f.getUser(c.ID), c)
	f.checkIDs("ListUsers by the role after UpdateUsers", userIDs(f.listUsers(store.UserQuery{Role: ptr(r.ID)})), userIDs(inListOrder(a, b)))

	// Removing the role from one of them.
	if err := f.s.UpdateUsers(f.ctx, []string{b.ID}, store.Condition{}, store.UserChange{SetRole: true, UpdatedAt: at.Add(time.Minute)}); err != nil {
		f.Fatalf("UpdateUsers removing a role: %v", err)
	}
	if got := f.getUser(b.ID); got.Role != nil {
		f.Errorf("after UpdateUsers with SetRole and a nil Role: Role = %q, want nil", *got.Role)
	}
	if got := f.getUser(a.ID); roleString(got.Role) != roleString(&r.ID) {
		f.Errorf("user left out of the second UpdateUsers: Role = %s, want %q", roleString(got.Role), r.ID)
	}
}

// inListOrder returns us in ListUsers order.
func inListOrder(us ...*store.User) []*store.User {
	s := slices.Clone(us)
	sortUsers(s)
	return s
}

func updateUsersAllOrNothing(f *fixture) {
	r := f.role("editor")
	a, b := f.user("a@example.com"), f.user("b@example.com")
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, newID(), b.ID}, store.Condition{}, store.UserChange{
		SetRole: true, Role: ptr(r.ID), FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
	})
	f.wantErr("UpdateUsers with one unknown id", err, store.ErrNotFound)
	f.checkUser("first user after a failed UpdateUsers", f.getUser(a.ID), a)
	f.checkUser("last user after a failed UpdateUsers", f.getUser(b.ID), b)
}

func updateUsersUnknownRole(f *fixture) {
	a, b := f.user("a@example.com"), f.user("b@example.com")
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{}, store.UserChange{
		SetRole: true, Role: ptr(newID()), FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
	})
	f.wantErr("UpdateUsers with an unknown role", err, store.ErrRoleNotFound)
	f.checkUser("first user after it", f.getUser(a.ID), a)
	f.checkUser("second user after it", f.getUser(b.ID), b)
}

func updateUsersUnknownPolicy(f *fixture) {
	p := f.policy("a")
	a, b := f.user("a@example.com"), f.user("b@example.com")
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{}, store.UserChange{
		SetPolicies: true, Policies: []string{p.ID, newID()}, FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
	})
	f.wantErr("UpdateUsers with an unknown policy", err, store.ErrPolicyNotFound)
	f.checkUser("first user after it", f.getUser(a.ID), a)
	f.checkUser("second user after it", f.getUser(b.ID), b)
}

// ---------------------------------------------------------------------------
// Tokens: GetToken and re-issuing.

func tokenRoundTrip(f *fixture) {
	u := f.user("alice@example.com")
	tok := newToken(u.ID, store.PurposeInvite, base.Add(7*day))
	tok.CreatedAt = base.Add(-time.Minute)
	f.issue(tok)
	f.checkToken("GetToken", f.getToken(tok.Hash), tok)
}

func tokenNotFound(f *fixture) {
	_, err := f.s.GetToken(f.ctx, make([]byte, 32))
	f.wantErr("GetToken on an empty store", err, store.ErrNotFound)
	u := f.user("alice@example.com")
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	f.issue(tok)
	other := newToken(u.ID, store.PurposeInvite, base.Add(day)) // never stored
	_, err = f.s.GetToken(f.ctx, other.Hash)
	f.wantErr("GetToken of an unknown hash", err, store.ErrNotFound)
	_, err = f.s.GetToken(f.ctx, tok.Hash[:16])
	f.wantErr("GetToken of a prefix of a stored hash", err, store.ErrNotFound)
}

func tokenReissueRevokes(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	first := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	f.createUserFx(u, store.Effects{Token: first})
	invite := newToken(u.ID, store.PurposeInvite, base.Add(day))
	f.issue(invite)
	v := newUser("bob@example.com")
	v.Status = store.StatusUnverified
	others := newToken(v.ID, store.PurposeVerifyEmail, base.Add(day))
	f.createUserFx(v, store.Effects{Token: others})

	second := newToken(u.ID, store.PurposeVerifyEmail, base.Add(2*day))
	f.issue(second)

	f.tokenGone(first.Hash, "the first token after a second was issued for the same user and purpose")
	now := base.Add(time.Minute)
	_, err := f.s.ConsumeToken(f.ctx, first.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{})
	f.wantErr("ConsumeToken of a revoked token", err, store.ErrInvalidToken)
	f.tokenLive(second.Hash, "the second token")
	f.tokenLive(invite.Hash, "a token of another purpose")
	f.tokenLive(others.Hash, "another user's token of the same purpose")

	for _, tok := range []*store.Token{second, invite, others} {
		if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, tok.Purpose, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{}); err != nil {
			f.Errorf("ConsumeToken of a token that must still be valid (%s): %v", tok.Purpose, err)
		}
	}
}

func tokenReissueInConsumeRevokes(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	verify := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	oldInvite := newToken(u.ID, store.PurposeInvite, base.Add(day))
	f.createUserFx(u, store.Effects{Token: verify})
	f.issue(oldInvite)

	newInvite := newToken(u.ID, store.PurposeInvite, base.Add(2*day))
	now := base.Add(time.Minute)
	if _, err := f.s.ConsumeToken(f.ctx, verify.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{Token: newInvite}); err != nil {
		f.Fatalf("ConsumeToken issuing a token: %v", err)
	}
	f.tokenGone(oldInvite.Hash, "an invite token after ConsumeToken issued a new one")
	f.tokenLive(newInvite.Hash, "the invite token ConsumeToken issued")
}

// Re-issuing deletes the unconsumed tokens only: a consumed one still
// answers ErrTokenUsed.
func tokenReissueKeepsConsumed(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	first := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	f.createUserFx(u, store.Effects{Token: first})
	now := base.Add(time.Minute)
	if _, err := f.s.ConsumeToken(f.ctx, first.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	f.issue(newToken(u.ID, store.PurposeVerifyEmail, base.Add(day)))
	got, err := f.s.GetToken(f.ctx, first.Hash)
	if err != nil {
		f.Fatalf("GetToken of a consumed token after a re-issue: %v (the consumed token was deleted)", err)
	}
	if got.ConsumedAt == nil {
		f.Error("consumed token after a re-issue: ConsumedAt = nil")
	}
	_, err = f.s.ConsumeToken(f.ctx, first.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{})
	f.wantErr("ConsumeToken of a consumed token after a re-issue", err, store.ErrTokenUsed)
}

// ---------------------------------------------------------------------------
// ConsumeToken

// unverified creates an unverified user holding a live verification token
// that expires a day after base.
func (f *fixture) unverified(email string) (*store.User, *store.Token) {
	f.Helper()
	u := newUser(email)
	u.Status = store.StatusUnverified
	u.PasswordHash = "hash"
	tok := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	tok.EmailKey = u.EmailKey
	f.createUserFx(u, store.Effects{Token: tok})
	return u, tok
}

// activate is the change of a verification: the user becomes active.
func activate() store.UserChange {
	return store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: base.Add(time.Minute)}
}

func consumeSuccess(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	got, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusUnverified}, activate(), store.Effects{})
	if err != nil {
		f.Fatalf("ConsumeToken of a live token: %v", err)
	}
	want := clone(u)
	want.Status, want.UpdatedAt = store.StatusActive, activate().UpdatedAt
	f.checkUser("ConsumeToken result", got, want)
	f.checkUser("GetUser after ConsumeToken", f.getUser(u.ID), want)
	consumed := *tok
	consumed.ConsumedAt = &now
	f.checkToken("GetToken after ConsumeToken", f.getToken(tok.Hash), &consumed)

	// A second, unrelated token still works.
	v, tok2 := f.unverified("bob@example.com")
	got, err = f.s.ConsumeToken(f.ctx, tok2.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{FirstName: ptr("Bob"), UpdatedAt: now}, store.Effects{})
	if err != nil {
		f.Fatalf("ConsumeToken of another user's token: %v", err)
	}
	if got.ID != v.ID || got.FirstName != "Bob" {
		f.Errorf("ConsumeToken changed user %s (FirstName %q); want %s with FirstName %q", got.ID, got.FirstName, v.ID, "Bob")
	}
	f.checkUser("first user after the second ConsumeToken", f.getUser(u.ID), want)
}

func consumeWrongPurpose(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	for _, p := range []store.Purpose{store.PurposeInvite, store.PurposePasswordReset} {
		_, err := f.s.ConsumeToken(f.ctx, tok.Hash, p, now, store.Condition{}, activate(), store.Effects{Mail: newMail(u.ID, u.Email, now)})
		what := fmt.Sprintf("ConsumeToken of a %s token as %s", tok.Purpose, p)
		f.wantErr(what, err, store.ErrInvalidToken)
		if errors.Is(err, store.ErrTokenUsed) || errors.Is(err, store.ErrTokenExpired) {
			f.Errorf("%s: err = %v; want plain ErrInvalidToken, as for an unknown token", what, err)
		}
	}
	f.checkUser("user after wrong-purpose ConsumeToken", f.getUser(u.ID), u)
	f.tokenLive(tok.Hash, "token after wrong-purpose ConsumeToken")
	f.noMail("after wrong-purpose ConsumeToken")
	if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{}); err != nil {
		f.Errorf("ConsumeToken with the right purpose afterwards: %v", err)
	}
}

func consumeUnknown(f *fixture) {
	now := base.Add(time.Minute)
	unknown := sha256.Sum256([]byte("unknown"))
	_, err := f.s.ConsumeToken(f.ctx, unknown[:], store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{})
	f.wantErr("ConsumeToken on an empty store", err, store.ErrInvalidToken)
	u, tok := f.unverified("alice@example.com")
	for _, h := range [][]byte{unknown[:], tok.Hash[:16], {}, nil} {
		_, err = f.s.ConsumeToken(f.ctx, h, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{Mail: newMail(u.ID, u.Email, now)})
		f.wantErr(fmt.Sprintf("ConsumeToken of unknown hash %x", h), err, store.ErrInvalidToken)
		if errors.Is(err, store.ErrTokenUsed) || errors.Is(err, store.ErrTokenExpired) {
			f.Errorf("ConsumeToken of an unknown hash: err = %v, want plain ErrInvalidToken", err)
		}
	}
	f.checkUser("user after unknown ConsumeToken", f.getUser(u.ID), u)
	f.tokenLive(tok.Hash, "token after unknown ConsumeToken")
	f.noMail("after unknown ConsumeToken")
}

func consumeExpired(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	for _, now := range []time.Time{tok.ExpiresAt, tok.ExpiresAt.Add(time.Millisecond), tok.ExpiresAt.Add(30 * day)} {
		_, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{Mail: newMail(u.ID, u.Email, now)})
		f.wantErr(fmt.Sprintf("ConsumeToken at %v of a token expiring at %v", now, tok.ExpiresAt), err, store.ErrTokenExpired)
	}
	f.checkUser("user after expired ConsumeToken", f.getUser(u.ID), u)
	f.tokenLive(tok.Hash, "token after expired ConsumeToken")
	f.noMail("after expired ConsumeToken")
	// Just before expiry it is still good: nothing was written.
	if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, tok.ExpiresAt.Add(-time.Millisecond), store.Condition{}, activate(), store.Effects{}); err != nil {
		f.Errorf("ConsumeToken a millisecond before expiry: %v", err)
	}
}

func consumeUsed(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	after, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{})
	if err != nil {
		f.Fatalf("first ConsumeToken: %v", err)
	}
	newTok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	later := now.Add(time.Minute)
	_, err = f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, later, store.Condition{},
		store.UserChange{FirstName: ptr("Again"), UpdatedAt: later}, store.Effects{Token: newTok, Mail: newMail(u.ID, u.Email, later)})
	f.wantErr("second ConsumeToken of the same token", err, store.ErrTokenUsed)
	f.checkUser("user after a used ConsumeToken", f.getUser(u.ID), after)
	f.tokenGone(newTok.Hash, "token issued by a used ConsumeToken")
	f.noMail("after a used ConsumeToken")
	if got := f.getToken(tok.Hash); got.ConsumedAt == nil || timeDiff(*got.ConsumedAt, now) != "" {
		f.Errorf("ConsumedAt after a second ConsumeToken = %v, want the first consumption's %v", got.ConsumedAt, now)
	}
	// Used wins over expired.
	_, err = f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, tok.ExpiresAt.Add(day), store.Condition{}, activate(), store.Effects{})
	f.wantErr("ConsumeToken of a used token after its expiry", err, store.ErrTokenUsed)
}

func consumeConditionFails(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	for _, cond := range []store.Condition{
		{Status: store.StatusInvited},
		{Contested: ptr(true)},
		{Status: store.StatusUnverified, Contested: ptr(true)},
	} {
		newTok := newToken(u.ID, store.PurposeInvite, base.Add(day))
		_, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, cond, activate(), store.Effects{Token: newTok, Mail: newMail(u.ID, u.Email, now)})
		what := fmt.Sprintf("ConsumeToken with an unmet condition (status %q, contested %s)", cond.Status, boolString(cond.Contested))
		f.wantErr(what, err, store.ErrConflict)
		f.checkUser(what+": user", f.getUser(u.ID), u)
		f.tokenLive(tok.Hash, what+": the token is not consumed")
		f.tokenGone(newTok.Hash, what+": effects token")
		f.noMail(what)
	}
	got, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusUnverified, Contested: ptr(false)}, activate(), store.Effects{})
	if err != nil {
		f.Fatalf("ConsumeToken with the condition met, after the failures: %v", err)
	}
	if got.Status != store.StatusActive {
		f.Errorf("Status = %q, want %q", got.Status, store.StatusActive)
	}
}

func consumeWithEffects(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	invite := newToken(u.ID, store.PurposeInvite, now.Add(7*day))
	invite.CreatedAt = now
	m := newMail(u.ID, u.Email, now)
	m.Kind = "set-password"
	got, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusUnverified},
		store.UserChange{Status: ptr(store.StatusInvited), PasswordHash: ptr(""), Contested: ptr(false), UpdatedAt: now},
		store.Effects{Token: invite, Mail: m})
	if err != nil {
		f.Fatalf("ConsumeToken with effects: %v", err)
	}
	want := clone(u)
	want.Status, want.PasswordHash, want.UpdatedAt = store.StatusInvited, "", now
	f.checkUser("ConsumeToken with effects: result", got, want)
	f.checkToken("token issued by ConsumeToken", f.getToken(invite.Hash), invite)
	ms := f.listMail(store.MailQuery{})
	f.checkIDs("ListMail after ConsumeToken with a mail", mailIDs(ms), []string{m.ID})
	if len(ms) == 1 {
		f.checkMail("mail written by ConsumeToken", ms[0], m)
	}
	if got := f.getToken(tok.Hash); got.ConsumedAt == nil {
		f.Error("consumed token: ConsumedAt = nil")
	}
}

func consumeConcurrent(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	const n = 50
	mails := make([]*store.Mail, n)
	for i := range mails {
		mails[i] = newMail(u.ID, u.Email, now)
	}
	errs := make([]error, n)
	f.race("concurrent ConsumeToken of one token", n, func(ctx context.Context, i int) {
		_, errs[i] = f.s.ConsumeToken(ctx, tok.Hash, store.PurposeVerifyEmail, now,
			store.Condition{Status: store.StatusUnverified},
			store.UserChange{Status: ptr(store.StatusActive), FirstName: ptr(fmt.Sprintf("winner-%d", i)), UpdatedAt: now},
			store.Effects{Mail: mails[i]})
	})

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			f.Errorf("ConsumeToken calls %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrTokenUsed) && !errors.Is(err, store.ErrInvalidToken):
			f.Errorf("concurrent ConsumeToken %d: err = %v, want one matching ErrTokenUsed or ErrInvalidToken", i, err)
		}
	}
	if winner < 0 {
		f.Fatalf("none of %d concurrent ConsumeToken calls succeeded", n)
	}
	got := f.getUser(u.ID)
	if want := fmt.Sprintf("winner-%d", winner); got.FirstName != want || got.Status != store.StatusActive {
		f.Errorf("user after the race: FirstName %q, Status %q; want %q, %q", got.FirstName, got.Status, want, store.StatusActive)
	}
	f.checkIDs("outbox after the race (the winner's mail only)", mailIDs(f.listMail(store.MailQuery{})), []string{mails[winner].ID})
}

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

// ---------------------------------------------------------------------------
// Settings

func settingsNoneSaved(f *fixture) {
	doc, err := f.s.Settings(f.ctx)
	if err != nil || doc != nil {
		f.Errorf("Settings before any SaveSettings = %q, %v; want nil, nil", doc, err)
	}
}

// The document is opaque: it comes back byte for byte, spacing and key
// order included (a back-end must not store it as normalised JSON).
func settingsRoundTrip(f *fixture) {
	doc := []byte("{\"public_registration\": true,\n  \"b\":1, \"a\" : [1,2],\"name\":\"Zoë ✓\"}\n")
	if err := f.s.SaveSettings(f.ctx, doc); err != nil {
		f.Fatalf("SaveSettings: %v", err)
	}
	got, err := f.s.Settings(f.ctx)
	if err != nil {
		f.Fatalf("Settings: %v", err)
	}
	if !bytes.Equal(got, doc) {
		f.Errorf("Settings = %q, want %q", got, doc)
	}
}

func settingsReplace(f *fixture) {
	for _, doc := range []string{`{"public_registration":true,"public_registration_role":"x"}`, `{}`, `{"public_registration":false}`} {
		if err := f.s.SaveSettings(f.ctx, []byte(doc)); err != nil {
			f.Fatalf("SaveSettings: %v", err)
		}
		got, err := f.s.Settings(f.ctx)
		if err != nil {
			f.Fatalf("Settings: %v", err)
		}
		if string(got) != doc {
			f.Errorf("Settings after saving %s = %s", doc, got)
		}
	}
}

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
	sortMail(all)
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
	ids := func(ms ...*store.Mail) []string { s := slices.Clone(ms); sortMail(s); return mailIDs(s) }
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
	r := newRole("editor")
	want := *r
	if err := f.s.CreateRole(f.ctx, r); err != nil {
		f.Fatalf("CreateRole: %v", err)
	}
	r.Name = "changed"
	got, err := f.s.GetRole(f.ctx, want.ID)
	if err != nil {
		f.Fatalf("GetRole: %v", err)
	}
	got.Name = "changed"
	roles, err := f.s.ListRoles(f.ctx)
	if err != nil {
		f.Fatalf("ListRoles: %v", err)
	}
	for _, x := range roles {
		x.Name = "changed"
	}
	if got, err := f.s.GetRole(f.ctx, want.ID); err != nil || *got != want {
		f.Errorf("GetRole after changing records passed in and returned = %+v, %v; want %+v", got, err, want)
	}

	p := newPolicy("content")
	wantP := *p
	if err := f.s.CreatePolicy(f.ctx, p); err != nil {
		f.Fatalf("CreatePolicy: %v", err)
	}
	p.Name = "changed"
	gotP, err := f.s.GetPolicy(f.ctx, wantP.ID)
	if err != nil {
		f.Fatalf("GetPolicy: %v", err)
	}
	gotP.Name = "changed"
	ps, err := f.s.ListPolicies(f.ctx)
	if err != nil {
		f.Fatalf("ListPolicies: %v", err)
	}
	for _, x := range ps {
		x.Name = "changed"
	}
	if got, err := f.s.GetPolicy(f.ctx, wantP.ID); err != nil || *got != wantP {
		f.Errorf("GetPolicy after changing records passed in and returned = %+v, %v; want %+v", got, err, wantP)
	}
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
	f.sessionIs(sess, "session after RotateSession, DeleteSession and DeleteSessionByToken with a cancelled context")
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
