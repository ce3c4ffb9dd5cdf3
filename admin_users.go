package users

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gousers/users/internal/echo"
	"github.com/gousers/users/store"
)

// CreateUserInput is an administrator's new user. Every field is optional.
type CreateUserInput struct {
	Email     string // unique, case-insensitively
	Password  string // hashed; the password policy applies
	FirstName string
	LastName  string
	Status    Status         // default active
	Role      *string        // nil: no role
	Policies  []string       // policy ids; one listed twice counts once
	Metadata  map[string]any // host-app fields
}

// CreateUser creates a user (an administrator's action: authorise before
// calling). A malformed email or a password that breaks the policy is a
// *ValidationError (ErrFailedValidation, ErrPasswordPolicy); an email
// already taken, compared case-insensitively, is ErrDuplicateEmail; an
// unknown role or policy is ErrRoleNotFound or ErrPolicyNotFound. Names are
// at most 50 characters of visible text; ids are 1 to 255 bytes without
// control characters; metadata nests at most 32 deep and holds no NUL
// (each a *ValidationError, checked before the store is asked). Surrounding
// white space of the email is trimmed. Nothing is written on error. The
// returned user never carries the hash.
func (m *Manager) CreateUser(ctx context.Context, in CreateUserInput) (*User, error) {
	u, err := m.create(ctx, in)
	m.observeFlow(FlowCreateUser, OutcomeCreated, err)
	if err != nil {
		return nil, opErr("create user", err)
	}
	return u, nil
}

func (m *Manager) create(ctx context.Context, in CreateUserInput) (*User, error) {
	u, err := m.newUser(in, m.clock())
	if err != nil {
		return nil, err
	}
	if err := m.beforeCreate(ctx, u); err != nil {
		return nil, err
	}
	if in.Password != "" {
		s, err := m.settings(ctx)
		if err != nil {
			return nil, err
		}
		if u.PasswordHash, err = m.newPasswordHash(ctx, s, in.Password); err != nil {
			return nil, err
		}
	}
	fx := store.Effects{Events: m.events(m.event(ctx, flowCreated, u, actorAdmin, m.clock()))}
	if err := m.store.CreateUser(ctx, u, fx); err != nil {
		return nil, err
	}
	return publicUser(u), nil
}

// beforeCreate runs the BeforeCreate hook, if any, on the user about to be
// created: it may refuse (ErrInvalidPayload) or change the role and the
// metadata, which are checked again as CreateUser checks them.
func (m *Manager) beforeCreate(ctx context.Context, u *store.User) error {
	if m.hooks.BeforeCreate == nil {
		return nil
	}
	he := &Event{Flow: flowCreated, Action: actionOf(flowCreated), Email: u.Email, Actor: actorAdmin, Time: m.clock(), Metadata: u.Metadata}
	if u.Role != nil {
		he.Role = *u.Role
	}
	if err := m.before(ctx, "BeforeCreate", m.hooks.BeforeCreate, he); err != nil {
		return refusedPayload()
	}
	var role *string
	if he.Role != "" {
		role = &he.Role
		if err := validateID("role", role); err != nil {
			return err
		}
	}
	meta, err := cleanMetadata("metadata", he.Metadata)
	if err != nil {
		return err
	}
	u.Role, u.Metadata = role, meta
	return nil
}

// newUser checks in (every rule of CreateUser but the password's) and
// returns the user to store, without its password hash.
func (m *Manager) newUser(in CreateUserInput, now time.Time) (*store.User, error) {
	email := strings.TrimSpace(in.Email)
	if email != "" {
		if err := validateEmail(email); err != nil {
			return nil, asFailed(err)
		}
	}
	if err := validateName("first_name", in.FirstName); err != nil {
		return nil, err
	}
	if err := validateName("last_name", in.LastName); err != nil {
		return nil, err
	}
	status := in.Status
	if status == "" {
		status = StatusActive
	}
	if !status.Valid() {
		return nil, invalid("status", fmt.Sprintf("must be one of active, invited, unverified, draft, suspended, archived, not %q", echo.Cut(string(status))))
	}
	if err := validIDs("policies", in.Policies); err != nil {
		return nil, err
	}
	if err := validateID("role", in.Role); err != nil {
		return nil, err
	}
	meta, err := cleanMetadata("metadata", in.Metadata)
	if err != nil {
		return nil, err
	}
	u := &store.User{
		ID:        uuid.NewString(),
		Email:     email,
		FirstName: in.FirstName,
		LastName:  in.LastName,
		Status:    status,
		Role:      in.Role,
		Policies:  uniqueIDs(in.Policies),
		Metadata:  meta,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if email != "" {
		u.EmailKey = NormalizeEmail(email)
	}
	return u, nil
}

// CreateUsers creates several users at once (Directus's POST /users with
// an array), all or none, and returns them in the order given. Every
// input is checked as CreateUser checks it before anything is written, in
// Directus's order: every email's shape (ErrFailedValidation), then
// uniqueness, case-insensitively, within the batch and against the stored
// users (ErrDuplicateEmail), then each input's other fields, the roles and
// policies named (ErrRoleNotFound, ErrPolicyNotFound), and last the
// passwords (the policy, then the hashing). More than MaxCreateUsers
// inputs is a *ValidationError; none creates none.
//
// The users are then inserted one by one: a Store has no batch insert. If
// an insert fails — the store fails, or a concurrent call took one of the
// addresses (ErrDuplicateEmail) or deleted a role — the users this call
// already inserted are deleted again and the error is returned, so that
// the call still creates none; for that moment they exist (the activity
// log shows each created, then deleted). Should that
// deletion fail too, it is logged with their ids, and the error returned
// says so.
func (m *Manager) CreateUsers(ctx context.Context, in []CreateUserInput) ([]*User, error) {
	out, err := m.createMany(ctx, in)
	if err != nil {
		m.observeFlow(FlowCreateUser, OutcomeCreated, err)
		return nil, opErr("create users", err)
	}
	for range out {
		m.observeFlow(FlowCreateUser, OutcomeCreated, nil)
	}
	return out, nil
}

func (m *Manager) createMany(ctx context.Context, in []CreateUserInput) ([]*User, error) {
	if len(in) > MaxCreateUsers {
		return nil, &ValidationError{Reason: fmt.Sprintf("At most %d users can be created at once", MaxCreateUsers), whole: true}
	}
	// The emails' shape, then their uniqueness, as Directus checks them.
	keys := make(map[string]bool, len(in))
	for _, it := range in {
		email := strings.TrimSpace(it.Email)
		if email == "" {
			continue
		}
		if err := validateEmail(email); err != nil {
			return nil, asFailed(err)
		}
	}
	for _, it := range in {
		if email := strings.TrimSpace(it.Email); email != "" {
			key := NormalizeEmail(email)
			if keys[key] {
				return nil, ErrDuplicateEmail
			}
			keys[key] = true
		}
	}
	for key := range keys {
		switch _, err := m.store.GetUserByEmailKey(ctx, key); {
		case err == nil:
			return nil, ErrDuplicateEmail
		case !isNotFound(err):
			return nil, err
		}
	}
	// Every other field, and the roles and policies they name.
	now := m.clock()
	us := make([]*store.User, len(in))
	roles, policies := map[string]bool{}, map[string]bool{}
	for i, it := range in {
		u, err := m.newUser(it, now)
		if err != nil {
			return nil, err
		}
		if err := m.beforeCreate(ctx, u); err != nil {
			return nil, err
		}
		us[i] = u
		if u.Role != nil {
			roles[*u.Role] = true
		}
		for _, p := range u.Policies {
			policies[p] = true
		}
	}
	for id := range roles {
		if _, err := m.store.GetRole(ctx, id); err != nil {
			return nil, notFoundAs(err, ErrRoleNotFound)
		}
	}
	for id := range policies {
		if _, err := m.store.GetPolicy(ctx, id); err != nil {
			return nil, notFoundAs(err, ErrPolicyNotFound)
		}
	}
	// The passwords last: the costly part.
	var s *Settings
	for i, it := range in {
		if it.Password == "" {
			continue
		}
		if s == nil {
			var err error
			if s, err = m.settings(ctx); err != nil {
				return nil, err
			}
		}
		hash, err := m.newPasswordHash(ctx, s, it.Password)
		if err != nil {
			return nil, err
		}
		us[i].PasswordHash = hash
	}
	out := make([]*User, len(us))
	for i, u := range us {
		fx := store.Effects{Events: m.events(m.event(ctx, flowCreated, u, actorAdmin, m.clock()))}
		if err := m.store.CreateUser(ctx, u, fx); err != nil {
			return nil, m.undoCreate(ctx, us[:i], err)
		}
		out[i] = publicUser(u)
	}
	return out, nil
}

// undoCreate deletes the users a failed CreateUsers inserted before err,
// and returns err (joined with the deletion's error, which is logged with
// the ids, if that fails too).
func (m *Manager) undoCreate(ctx context.Context, done []*store.User, err error) error {
	if len(done) == 0 {
		return err
	}
	ids := make([]string, len(done))
	evs := make([]*store.Event, len(done))
	now := m.clock()
	for i, u := range done {
		ids[i] = u.ID
		// The activity log tells what happened: created, then deleted.
		evs[i] = m.event(ctx, flowDeleted, u, actorAdmin, now)
	}
	// Even when the caller has gone: the batch must not stay half made.
	if derr := m.store.DeleteUsers(context.WithoutCancel(ctx), ids, store.Condition{}, m.events(evs...)...); derr != nil {
		m.log.ErrorContext(ctx, "users: create users: the users created before the failure could not be deleted",
			"user_ids", ids, "error", derr)
		return errors.Join(err, fmt.Errorf("%d users created before the failure remain: %w", len(ids), derr))
	}
	return err
}

// asFailed turns an input error into a failed-validation one (Directus
// answers FAILED_VALIDATION for a malformed field of an item).
func asFailed(err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return failed(ve.Field, ve.Reason)
	}
	return err
}

// uniqueIDs returns ids without repeats, in the order of their first
// appearance (a new slice: nil for nil). A policy listed twice counts once,
// the same on every store.
func uniqueIDs(ids []string) []string {
	if ids == nil {
		return nil
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// User returns the user with the given id (ErrUserNotFound).
func (m *Manager) User(ctx context.Context, id string) (*User, error) {
	if !possibleID(id) {
		return nil, opErr("get user", ErrUserNotFound)
	}
	r, err := m.store.GetUser(ctx, id)
	if err != nil {
		return nil, opErr("get user", notFoundAs(err, ErrUserNotFound))
	}
	return publicUser(r), nil
}

// UserQuery selects users for ListUsers and CountUsers. The zero value
// selects every user; every field given must hold (they combine with AND).
type UserQuery struct {
	// Filter, when not nil, must hold (see ParseFilter; listing does not
	// run _regex).
	Filter *Filter
	// Search, when not empty, selects the users whose email, first name or
	// last name contains it, case-insensitively (non-ASCII letters
	// included). At most 1 KiB of valid UTF-8.
	Search string
	// Sort orders the result, as Directus writes it: field names, each
	// with "-" before it for descending ("-created_at"), among id, email,
	// first_name, last_name, status, role, created_at and updated_at.
	// Strings sort by their bytes, a null role before every role; id
	// ascending breaks ties. Empty: created_at, then id.
	Sort []string
	// Limit caps the result (0: no cap); Offset skips that many.
	Limit, Offset int
	// Role, when not nil, selects the users in that role. NoRole selects
	// the users without a role; it wins over Role.
	Role   *string
	NoRole bool
	// IDs, when not empty, selects those users.
	IDs []string
}

// maxSearchBytes bounds UserQuery.Search: longer than any field it
// searches, so nothing is lost.
const maxSearchBytes = 1024

// sortFields are the fields UserQuery.Sort takes.
var sortFields = []store.Field{
	store.FieldID, store.FieldEmail, store.FieldFirstName, store.FieldLastName,
	store.FieldStatus, store.FieldRole, store.FieldCreatedAt, store.FieldUpdatedAt,
}

// queryError is the *ValidationError of a bad query part.
func queryError(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidQuery}
}

// unsupportedFilter is the error of a filter operator listing does not
// run, whether the Manager or the Store found it.
func unsupportedFilter(op store.Op) error {
	return queryError("filter", "operator %s is not supported when listing users", echo.Cut(string(op)))
}

// storeQuery checks q and returns the query the Store runs. Every error is
// a *ValidationError matching ErrInvalidQuery.
func (q UserQuery) storeQuery() (store.UserQuery, error) {
	sq := store.UserQuery{Role: q.Role, NoRole: q.NoRole, IDs: q.IDs, Filter: q.Filter.storeFilter(),
		Search: q.Search, Limit: q.Limit, Offset: q.Offset}
	switch {
	case q.Limit < 0:
		return sq, queryError("limit", "must not be negative")
	case q.Offset < 0:
		return sq, queryError("offset", "must not be negative")
	case len(q.Search) > maxSearchBytes:
		return sq, queryError("search", "must be at most %d bytes", maxSearchBytes)
	case !utf8.ValidString(q.Search) || strings.IndexByte(q.Search, 0) >= 0:
		return sq, queryError("search", "must be valid UTF-8 without NUL characters")
	}
	for _, it := range q.Sort {
		s := store.Sort{Field: store.Field(strings.TrimPrefix(it, "-")), Desc: strings.HasPrefix(it, "-")}
		switch {
		case slices.Contains(sortFields, s.Field):
			sq.Sort = append(sq.Sort, s)
		case strings.Contains(it, "."):
			return sq, queryError("sort", "sorting on related collections (%q) is not supported", echo.Cut(it))
		default:
			return sq, queryError("sort", "unknown field %q (sorts take id, email, first_name, last_name, status, role, created_at, updated_at, each with - for descending)", echo.Cut(it))
		}
	}
	if hasOp(sq.Filter, store.OpRegex) {
		return sq, unsupportedFilter(store.OpRegex)
	}
	return sq, nil
}

// hasOp reports whether op occurs in the tree t.
func hasOp(t *store.Filter, op store.Op) bool {
	if t == nil {
		return false
	}
	return t.Op == op || slices.ContainsFunc(t.And, func(k *store.Filter) bool { return hasOp(k, op) }) ||
		slices.ContainsFunc(t.Or, func(k *store.Filter) bool { return hasOp(k, op) })
}

// storeQueryErr translates a listing error of the Store: an operator it
// does not run is the caller's error.
func storeQueryErr(err error) error {
	var ue *store.UnsupportedError
	switch {
	case errors.As(err, &ue):
		return unsupportedFilter(ue.Op)
	case errors.Is(err, store.ErrUnsupported):
		return queryError("filter", "an operator is not supported when listing users")
	}
	return err
}

// ListUsers lists the users q selects, in its order and page (an
// administrator's view). A query that cannot run — a negative limit or
// offset, an unknown sort field, a search over 1 KiB, a filter with _regex
// — is a *ValidationError matching ErrInvalidQuery. Ids in q.IDs or q.Role
// that could not have been stored (empty, over 255 bytes, control
// characters) select nobody; the store is not asked about them.
func (m *Manager) ListUsers(ctx context.Context, q UserQuery) ([]*User, error) {
	sq, err := q.storeQuery()
	if err != nil {
		return nil, opErr("list users", err)
	}
	if len(sq.IDs) > 0 {
		sq.IDs = slices.DeleteFunc(slices.Clone(sq.IDs), func(id string) bool { return !possibleID(id) })
		if len(sq.IDs) == 0 {
			return []*User{}, nil
		}
	}
	if sq.Role != nil && !sq.NoRole && !possibleID(*sq.Role) {
		return []*User{}, nil
	}
	rs, err := m.store.ListUsers(ctx, sq)
	if err != nil {
		return nil, opErr("list users", storeQueryErr(err))
	}
	// One array for the page's users, not an allocation each.
	page := make([]User, len(rs))
	out := make([]*User, len(rs))
	for i, r := range rs {
		page[i] = *publicUser(r)
		out[i] = &page[i]
	}
	return out, nil
}

// CountUsers returns how many users q selects, ignoring its Sort, Limit and
// Offset (Directus's filter_count; UserQuery{} gives total_count). A query
// that cannot run is a *ValidationError matching ErrInvalidQuery, as for
// ListUsers.
func (m *Manager) CountUsers(ctx context.Context, q UserQuery) (int, error) {
	sq, err := q.storeQuery()
	if err != nil {
		return 0, opErr("count users", err)
	}
	n, err := m.store.CountUsers(ctx, sq)
	if err != nil {
		return 0, opErr("count users", storeQueryErr(err))
	}
	return n, nil
}

// UserPatch changes an existing user; nil or false fields are left alone.
type UserPatch struct {
	Email       *string // "" removes the email
	Password    *string // "" removes the password
	FirstName   *string
	LastName    *string
	Status      *Status
	SetRole     bool    // when true, Role replaces the role
	Role        *string // nil (with SetRole): no role
	SetPolicies bool    // when true, Policies replaces the policies
	Policies    []string
	Metadata    map[string]any // non-nil replaces the metadata
}

// UpdateUser changes one user (an administrator's action). The rules of
// CreateUser apply; ErrUserNotFound for an unknown id. A change of status,
// role, policies or email that would leave no active user with admin
// access and an email, where there was one, is refused with ErrLastAdmin
// and changes nothing: the last administrator's email cannot be removed
// (with or without its password), since no one could then sign in as it or
// reset its password.
//
// Activating an unverified registration (status unverified to active,
// without setting a password) does not keep the password given at
// registration: nobody proved it belongs to the address's owner — whoever
// typed the address first chose it, and a contested registration was
// typed by several people. The password is removed, the user becomes
// invited, and a link to choose a password goes to the address (the
// set-password mail for a contested registration, an invitation
// otherwise), as Invite and VerifyEmail do; the user is active once it
// chose one. Setting a password in the same patch keeps the activation
// as asked.
//
// Tokens are bound to the address and the status they were issued for: a
// change of the user's email (other than in letter case) or status revokes
// every pending token of the user (invitations, verification and reset
// links already mailed), and a change of the email, or of the status away
// from active, ends the user's sessions, in the same transaction. A token
// never comes back: setting the old address or status again later does
// not revive it. A new password ends the user's sessions too, and
// revokes the password-reset links mailed before it.
func (m *Manager) UpdateUser(ctx context.Context, id string, p UserPatch) (*User, error) {
	u, err := m.updateUser(ctx, id, p)
	if err != nil {
		return nil, opErr("update user", err)
	}
	return u, nil
}

func (m *Manager) updateUser(ctx context.Context, id string, p UserPatch) (*User, error) {
	if !possibleID(id) {
		return nil, ErrUserNotFound
	}
	ch, err := m.change(ctx, p)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		cond, fx := store.Condition{KeepAdmin: removesAdmin(p)}, store.Effects{}
		// The user as it is: whether the change revokes anything depends
		// on it (the change then applies only if it is still so), and the
		// event records the address and role it leaves.
		cur, err := m.store.GetUser(ctx, id)
		if err != nil {
			return nil, notFoundAs(err, ErrUserNotFound)
		}
		if ch.EmailKey != nil || ch.Status != nil {
			cond.EmailKey, cond.Status = &cur.EmailKey, cur.Status
			fx = revocation(cur.EmailKey, cur.Status, ch)
			if unprovenActivation(cur, p) {
				// See UpdateUser: the password goes, a link to choose one
				// comes, and the user is active once it chose one.
				ach, afx, err := m.activation(ctx, cur, ch)
				if err != nil {
					return nil, err
				}
				cond.Contested, cond.PasswordHash = &cur.Contested, &cur.PasswordHash
				ch, fx.Token, fx.Mail = ach, afx.Token, afx.Mail
			}
		}
		fx.Events = m.events(m.event(ctx, flowUpdated, changedView(cur, ch), actorAdmin, ch.UpdatedAt))
		if ch.PasswordHash != nil {
			fx.EndSessions = true
			if len(fx.RevokeTokens) == 0 {
				fx.RevokeTokens = passwordPurposes
			}
		}
		r, err := m.store.UpdateUser(ctx, id, cond, ch, fx)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // changed meanwhile: judge again
		}
		if errors.Is(err, ErrLastAdmin) && ch.EmailKey != nil && *ch.EmailKey == "" {
			return nil, &ValidationError{Field: "email", Err: ErrLastAdmin,
				Reason: "can't be removed from the last active user with admin access: no one could sign in"}
		}
		if err != nil {
			return nil, notFoundAs(err, ErrUserNotFound)
		}
		if fx.Mail != nil {
			m.queued()
		}
		return publicUser(r), nil
	}
}

// unprovenActivation reports whether patch p activates cur, an unverified
// registration, keeping a password nobody proved: the one given at
// registration, by whoever typed the address first (or by several people,
// when contested).
func unprovenActivation(cur *store.User, p UserPatch) bool {
	return cur.Status == StatusUnverified && p.Status != nil && *p.Status == StatusActive &&
		p.Password == nil && (cur.PasswordHash != "" || cur.Contested)
}

// activation turns ch, which activates the unverified cur, into a change
// that leaves cur invited without a password, not contested, and the
// effects that mail it a link to choose one (the set-password mail of a
// contested registration, else an invitation). A user left without an
// email gets no mail.
func (m *Manager) activation(ctx context.Context, cur *store.User, ch store.UserChange) (store.UserChange, store.Effects, error) {
	invited, empty, no := StatusInvited, "", false
	ch.Status, ch.PasswordHash, ch.Contested = &invited, &empty, &no
	email, key := cur.Email, cur.EmailKey
	if ch.Email != nil {
		email, key = *ch.Email, *ch.EmailKey
	}
	if key == "" {
		return ch, store.Effects{}, nil
	}
	kind := mailInvite
	if cur.Contested {
		kind = mailSetPassword
	}
	fx, err := m.inviteMail(ctx, kind, cur.ID, email, key, "", ch.UpdatedAt)
	return ch, fx, err
}

// revocation is what a change does to the pending tokens and sessions of
// a user whose address key and status are key and status: a new address
// or status revokes every token; a new address, or a status that leaves
// active, ends every session.
func revocation(key string, status Status, ch store.UserChange) store.Effects {
	newKey := ch.EmailKey != nil && *ch.EmailKey != key
	newStatus := ch.Status != nil && *ch.Status != status
	var fx store.Effects
	if newKey || newStatus {
		fx.RevokeTokens = allPurposes
	}
	if newKey || newStatus && status == StatusActive {
		fx.EndSessions = true
	}
	return fx
}

// UpdateUsers applies one patch to many users, all or none (the bulk form
// of the Data Studio). Email and password cannot be set in bulk, nor can an
// unverified registration be activated (see UpdateUser). As
// UpdateUser, it refuses with ErrLastAdmin a change that would leave no
// active user with admin access. Setting
// the status revokes every pending token of every user listed, and, unless
// the new status is active, ends their sessions (see UpdateUser; in bulk
// this holds even for a user whose status was already the new one).
func (m *Manager) UpdateUsers(ctx context.Context, ids []string, p UserPatch) error {
	if err := m.updateUsers(ctx, ids, p); err != nil {
		return opErr("update users", err)
	}
	return nil
}

func (m *Manager) updateUsers(ctx context.Context, ids []string, p UserPatch) error {
	if len(ids) == 0 {
		return invalid("keys", "is required")
	}
	if err := validIDs("keys", ids); err != nil {
		return err
	}
	if p.Email != nil {
		return invalid("email", "cannot be set for many users at once")
	}
	if p.Password != nil {
		return invalid("password", "cannot be set for many users at once")
	}
	ch, err := m.change(ctx, p)
	if err != nil {
		return err
	}
	if p.Status != nil && *p.Status == StatusActive {
		// Activating a registration mails it a link (see UpdateUser),
		// one user at a time.
		for _, id := range ids {
			if cur, err := m.store.GetUser(ctx, id); err == nil && unprovenActivation(cur, p) {
				return invalid("status", "cannot activate an unverified registration in bulk: activate it alone, which mails it a link to choose its password")
			}
		}
	}
	if ch.Status != nil {
		ch.RevokeTokens = allPurposes
		ch.EndSessions = *ch.Status != StatusActive
	}
	events, err := m.usersEvents(ctx, flowUpdated, ids, &ch)
	if err != nil {
		return err
	}
	return notFoundAs(m.store.UpdateUsers(ctx, ids, store.Condition{KeepAdmin: removesAdmin(p)}, ch, events...), ErrUserNotFound)
}

// removesAdmin reports whether a patch may take admin access away from a
// user — it changes the status, the role or the policies — so that the
// Store must keep at least one active user with admin access and an email
// (Condition.KeepAdmin; ErrLastAdmin otherwise, as Directus refuses to
// remove its last administrator). Taking the email counts: without one,
// no one can sign in as the user or reset its password.
func removesAdmin(p UserPatch) bool {
	return p.Status != nil || p.SetRole || p.SetPolicies || p.Email != nil
}

// change validates a patch and turns it into a store change.
func (m *Manager) change(ctx context.Context, p UserPatch) (store.UserChange, error) {
	ch := store.UserChange{
		FirstName: p.FirstName, LastName: p.LastName, Status: p.Status,
		SetRole: p.SetRole, Role: p.Role, Metadata: p.Metadata, UpdatedAt: m.clock(),
	}
	if p.Email != nil {
		e := strings.TrimSpace(*p.Email)
		key := ""
		if e != "" {
			if err := validateEmail(e); err != nil {
				return ch, asFailed(err)
			}
			key = NormalizeEmail(e)
		}
		ch.Email, ch.EmailKey = &e, &key
	}
	for field, v := range map[string]*string{"first_name": p.FirstName, "last_name": p.LastName} {
		if v != nil {
			if err := validateName(field, *v); err != nil {
				return ch, err
			}
		}
	}
	if p.Status != nil && !p.Status.Valid() {
		return ch, invalid("status", fmt.Sprintf("must be one of active, invited, unverified, draft, suspended, archived, not %q", echo.Cut(string(*p.Status))))
	}
	if p.SetRole {
		if err := validateID("role", p.Role); err != nil {
			return ch, err
		}
	}
	if p.Metadata != nil {
		meta, err := cleanMetadata("metadata", p.Metadata)
		if err != nil {
			return ch, err
		}
		ch.Metadata = meta
	}
	if p.SetPolicies {
		if err := validIDs("policies", p.Policies); err != nil {
			return ch, err
		}
		ch.SetPolicies, ch.Policies = true, uniqueIDs(p.Policies)
		if ch.Policies == nil {
			ch.Policies = []string{}
		}
	}
	if p.Password != nil {
		hash := ""
		if *p.Password != "" {
			s, err := m.settings(ctx)
			if err != nil {
				return ch, err
			}
			if hash, err = m.newPasswordHash(ctx, s, *p.Password); err != nil {
				return ch, err
			}
		}
		ch.PasswordHash = &hash
	}
	return ch, nil
}

// DeleteUsers deletes the users with the given ids, all or none (an
// administrator's action: authorise before calling). With each user go its
// tokens (so no link mailed to it works any more), its sessions (so no
// refresh token works any more) and its mail not yet sent; mail already
// sent or failed stays in the outbox as its record. Duplicate ids count
// once.
//
// Nothing is deleted when: no id is given, or one is empty (a
// *ValidationError for "keys"); one of them names no user (ErrUserNotFound);
// or the deletion would leave no active user with admin access where there
// was one (ErrLastAdmin), as Directus refuses to delete its last
// administrator. The Store judges the last one in the transaction that
// deletes, so two concurrent deletions cannot remove the last two
// administrators.
func (m *Manager) DeleteUsers(ctx context.Context, ids ...string) error {
	if err := m.deleteUsers(ctx, ids); err != nil {
		return opErr("delete users", err)
	}
	return nil
}

func (m *Manager) deleteUsers(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return invalid("keys", "is required")
	}
	if err := validIDs("keys", ids); err != nil {
		return err
	}
	events, err := m.usersEvents(ctx, flowDeleted, ids, nil)
	if err != nil {
		return err
	}
	return notFoundAs(m.store.DeleteUsers(ctx, ids, store.Condition{KeepAdmin: true}, events...), ErrUserNotFound)
}

// changedView is u as ch leaves its email and role, for an event.
func changedView(u *store.User, ch store.UserChange) *store.User {
	v := *u
	if ch.Email != nil {
		v.Email = *ch.Email
	}
	if ch.SetRole {
		v.Role = ch.Role
	}
	return &v
}

// usersEvents are the events of a change (ch; nil: a deletion) of the
// users ids, one per user that exists (the store refuses the call if one
// does not), the administrator of the request as actor.
func (m *Manager) usersEvents(ctx context.Context, flow string, ids []string, ch *store.UserChange) ([]*store.Event, error) {
	ids = uniqueIDs(ids)
	rs, err := m.store.ListUsers(ctx, store.UserQuery{IDs: ids})
	if err != nil {
		return nil, err
	}
	now := m.clock()
	out := make([]*store.Event, 0, len(rs))
	for _, r := range rs {
		if ch != nil {
			r = changedView(r, *ch)
		}
		out = append(out, m.event(ctx, flow, r, actorAdmin, now))
	}
	return m.events(out...), nil
}
