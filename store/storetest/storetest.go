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

// Dropper is what a store under test may implement as well (usually
// through a wrapper its test builds around it) so that the suite can check
// what a Store answers about a role or a policy deleted behind its back —
// by SQL, or by another program sharing the database — while users still
// name it. DropRole and DropPolicy delete the role or policy with the given
// id and nothing else: the users that name it keep naming it. Run checks
// those clauses only for a store that implements Dropper, and logs that it
// skipped them otherwise.
type Dropper interface {
	DropRole(ctx context.Context, id string) error
	DropPolicy(ctx context.Context, id string) error
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
			{"TrailingSpaceIsAnotherID", getUserTrailingSpace},
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
			{"FilterUnsupportedOperator", listUsersFilterUnsupported},
			{"FilterValuesAreData", listUsersFilterValuesAreData},
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
			{"KeepAdminKeepsAnEmail", updateUserKeepAdminEmail},
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
			{"WithUser", tokenWithUser},
			{"ReissueRevokes", tokenReissueRevokes},
			{"ReissueInConsumeRevokes", tokenReissueInConsumeRevokes},
			{"ReissueKeepsConsumed", tokenReissueKeepsConsumed},
			{"EmailKeyRoundTrip", tokenEmailKeyRoundTrip},
			{"NewEmailRoundTrip", tokenNewEmailRoundTrip},
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
			{"CreateGet", onRoles(catalogCreateGet)},
			{"ListOrder", onRoles(catalogListOrder)},
			{"NotFound", onRoles(catalogNotFound)},
			{"DuplicateID", onRoles(catalogDuplicateID)},
			{"Unicode", rolesUnicode},
		}},
		{"Policies", []clause{
			{"CreateGet", onPolicies(catalogCreateGet)},
			{"ListOrder", onPolicies(catalogListOrder)},
			{"NotFound", onPolicies(catalogNotFound)},
			{"DuplicateID", onPolicies(catalogDuplicateID)},
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
		{"Events", []clause{
			{"InsertedWithChange", eventsInsertedWithChange},
			{"EveryWriter", eventsEveryWriter},
			{"ClaimInOrderPerUser", eventsClaimInOrderPerUser},
			{"ClaimLimit", eventsClaimLimit},
			{"Retry", eventsRetry},
			{"ClaimedOnce", eventsConcurrentClaim},
			{"ListQuery", eventsListQuery},
			{"Prune", eventsPrune},
			{"IDsNeverReused", eventsIDsNeverReused},
			{"LastAccess", lastAccessKept},
		}},
		{"Sessions", []clause{
			{"CreateGet", sessionsCreateGet},
			{"CreateUnknownUser", sessionsCreateUnknownUser},
			{"CreateCondition", sessionsCreateCondition},
			{"GetNotFound", sessionsGetNotFound},
			{"Resolve", sessionsResolve},
			{"Rotate", sessionsRotate},
			{"RotateUnknownHash", sessionsRotateUnknown},
			{"RotateExpired", sessionsRotateExpired},
			{"RotateConditionFails", sessionsRotateConditionFails},
			{"RotateReusedHashEndsSession", sessionsRotateReused},
			{"RotateUnderConcurrency", sessionsRotateConcurrent},
			{"Renew", sessionsRenew},
			{"RenewWithinGrace", sessionsRenewGrace},
			{"RenewRetiredGenerationEndsSession", sessionsRenewReused},
			{"RenewRefused", sessionsRenewRefused},
			{"RenewUnderConcurrency", sessionsRenewConcurrent},
			{"Delete", sessionsDelete},
			{"DeleteByToken", sessionsDeleteByToken},
			{"ListByUser", sessionsList},
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
		tfaGroup(),
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
	return roleCatalog().add(f, name)
}

func (f *fixture) policy(name string) *store.Policy {
	f.Helper()
	return policyCatalog().add(f, name)
}

func (f *fixture) getUser(id string) *store.User {
	f.Helper()
	u, err := f.s.GetUser(f.ctx, id)
	return must(f, "GetUser", u, err)
}

// must returns v, which op returned with err, failing the sub-test when op
// failed or returned nil.
func must[T any](f *fixture, op string, v *T, err error) *T {
	f.Helper()
	if err != nil {
		f.Fatalf("%s: %v", op, err)
	}
	if v == nil {
		f.Fatalf("%s returned a nil %T and no error", op, v)
	}
	return v
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
	return must(f, "UpdateUser", u, err)
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
	return must(f, "GetToken", tok, err)
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
	check(f, what, got, want, diffUser)
}

// checkMail reports every field of got that differs from want.
func (f *fixture) checkMail(what string, got, want *store.Mail) {
	f.Helper()
	check(f, what, got, want, diffMail)
}

// check reports every difference diff finds between got and want.
func check[T any](f *fixture, what string, got, want *T, diff func(got, want *T) []string) {
	f.Helper()
	if got == nil {
		f.Errorf("%s: nil %T", what, got)
		return
	}
	for _, d := range diff(got, want) {
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
	d.str("NewEmail", got.NewEmail, want.NewEmail)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.timePtr("ConsumedAt", got.ConsumedAt, want.ConsumedAt)
	return d
}

func (f *fixture) checkToken(what string, got, want *store.Token) {
	f.Helper()
	check(f, what, got, want, diffToken)
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
