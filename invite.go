package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gousers/users/store"
)

// InviteInput is an invitation: one or many emails, the role they get, and
// an optional invite URL (on the invite allow-list) for the mail's link.
type InviteInput struct {
	Emails    []string
	Role      string // required; must name an existing role
	InviteURL string // optional; default <public URL>/admin/accept-invite
}

// InviteOutcome says what Invite did for one address.
type InviteOutcome string

// Invite outcomes.
const (
	InviteCreated InviteOutcome = "created" // new user, invited
	InviteResent  InviteOutcome = "resent"  // still invited: new token, old ones revoked
	// InviteConverted: the address had an account that was never verified
	// (registered by anyone, with any password). The invitation takes it
	// over: it becomes invited with the invite's role, its password and
	// contested mark are cleared, its verification links stop working,
	// and the invitation is mailed.
	InviteConverted     InviteOutcome = "converted"
	InviteAlreadyActive InviteOutcome = "already active" // an active user: nothing done, no mail
	InviteSkipped       InviteOutcome = "skipped"        // draft, suspended or archived: nothing done, no mail
)

// InviteResult is Invite's answer for one address.
type InviteResult struct {
	Email   string
	UserID  string
	Outcome InviteOutcome
	// Err is nil when the address was mailed (or, already active or
	// skipped, needed no mail). Otherwise it says why no mail was queued
	// although Outcome's change was made: an error matching
	// ErrRateLimited (a *RateLimitError with RetryAfter) when the address
	// is over the administrators' mail limit (Limits.AdminMail). No
	// new token was issued either, so the links already mailed to a
	// re-invited address stay valid (a converted account's verification
	// links are revoked all the same; invite it again later).
	Err error
}

// Invite invites people (an administrator's action: the caller is trusted,
// authorise before calling). Everything is checked before anything is
// written: the invite URL against the invite allow-list
// (ErrURLNotAllowed), every email (*ValidationError; surrounding white
// space is trimmed), the role (ErrRoleNotFound). Then, per address
// (duplicates, compared case-insensitively, count once):
//
//   - an unknown address becomes a new user with status invited and the
//     role (InviteCreated);
//   - a user still invited gets a new token, which revokes the earlier
//     ones, and the role if it differs (InviteResent);
//   - a user never verified (unverified: registered by someone, perhaps
//     not the address's owner, with a password the owner may not know) is
//     taken over by the invitation: it becomes invited with the role, its
//     password and contested mark are cleared, every pending token of it
//     (the verification links already mailed) is revoked, its sessions
//     end, and the invitation is mailed (InviteConverted). So an attacker
//     who registered someone's address first cannot keep the account the
//     owner is invited to;
//   - an active user is left alone and gets no mail (InviteAlreadyActive);
//   - any other user (draft, suspended, archived) likewise
//     (InviteSkipped).
//
// Each invited address gets a mail whose link is the invite URL with
// token=<token>.
//
// An address over the administrators' mail limit (Limits.AdminMail)
// is created or updated all the same but gets no mail; its
// InviteResult.Err matches ErrRateLimited, and Invite goes on with the
// other addresses. Anonymous traffic never counts against that limit.
//
// Each address is handled in its own transaction: if the store fails half
// way, the addresses before it are done, and calling Invite again is safe.
func (m *Manager) Invite(ctx context.Context, in InviteInput) ([]InviteResult, error) {
	res, err := m.invite1(ctx, in)
	m.observeInvite(res, err)
	return res, opErr("invite", err)
}

func (m *Manager) invite1(ctx context.Context, in InviteInput) ([]InviteResult, error) {
	if in.InviteURL != "" && !m.invite.Allowed(in.InviteURL) {
		return nil, urlNotAllowed("invite_url", in.InviteURL, "invite users")
	}
	if len(in.Emails) == 0 {
		return nil, invalid("email", "is required")
	}
	if len(in.Emails) > MaxInviteEmails {
		return nil, invalid("email", fmt.Sprintf("must list at most %d addresses", MaxInviteEmails))
	}
	emails := make([]string, 0, len(in.Emails))
	seen := make(map[string]bool, len(in.Emails))
	for _, e := range in.Emails {
		e = strings.TrimSpace(e)
		if err := validateEmail(e); err != nil {
			return nil, err
		}
		if k := NormalizeEmail(e); !seen[k] {
			seen[k] = true
			emails = append(emails, e)
		}
	}
	if strings.TrimSpace(in.Role) == "" {
		return nil, invalid("role", "is required")
	}
	if err := idProblem("role", in.Role); err != nil {
		return nil, err
	}
	if _, err := m.store.GetRole(ctx, in.Role); err != nil {
		if isNotFound(err) {
			return nil, &ValidationError{Field: "role", Reason: "names no role", Err: ErrRoleNotFound}
		}
		return nil, err
	}
	// The application's hook judges every address before anything is
	// written: one refusal refuses the call.
	adjust := make([]*Event, len(emails))
	if m.hooks.BeforeInvite != nil {
		for i, e := range emails {
			he := &Event{Flow: flowInvited, Action: actionOf(flowInvited), Email: e, Role: in.Role, Actor: actorAdmin, Time: m.clock()}
			if err := m.before(ctx, "BeforeInvite", m.hooks.BeforeInvite, he); err != nil {
				return nil, refusedPayload()
			}
			if he.Role != in.Role {
				if err := idProblem("role", he.Role); err != nil {
					return nil, err
				}
				if _, err := m.store.GetRole(ctx, he.Role); err != nil {
					if isNotFound(err) {
						return nil, &ValidationError{Field: "role", Reason: "the hook's role names no role", Err: ErrRoleNotFound}
					}
					return nil, err
				}
			}
			adjust[i] = he
		}
	}
	results := make([]InviteResult, 0, len(emails))
	for i, e := range emails {
		role, md := in.Role, map[string]any(nil)
		if he := adjust[i]; he != nil {
			role, md = he.Role, he.Metadata
		}
		r, err := m.inviteOne(ctx, e, role, in.InviteURL, md)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

func (m *Manager) inviteOne(ctx context.Context, email, role, base string, md map[string]any) (InviteResult, error) {
	key := NormalizeEmail(email)
	var (
		asked  bool  // the mail limiter was asked (once, whatever the attempts)
		denied error // its refusal
	)
	allow := func() error {
		if asked {
			return nil
		}
		asked = true
		var err error
		denied, err = m.allowAdminMail(ctx, key)
		return err
	}
	for attempt := 0; ; attempt++ {
		now := m.clock()
		existing, err := m.store.GetUserByEmailKey(ctx, key)
		if err != nil && !isNotFound(err) {
			return InviteResult{}, err
		}
		if existing == nil {
			if err := allow(); err != nil {
				return InviteResult{}, err
			}
			id := uuid.NewString()
			var fx store.Effects
			if denied == nil {
				if fx, err = m.inviteMail(ctx, mailInvite, id, email, key, base, now); err != nil {
					return InviteResult{}, err
				}
			} else {
				m.mailHeld(ctx, mailInvite, id)
			}
			r := role
			u := &store.User{
				ID: id, Email: email, Status: StatusInvited, Role: &r, CreatedAt: now, UpdatedAt: now,
				EmailKey: key, Metadata: md,
			}
			fx.Events = m.events(m.event(ctx, flowInvited, u, actorAdmin, now))
			err = m.store.CreateUser(ctx, u, fx)
			if errors.Is(err, ErrDuplicateEmail) && attempt == 0 {
				continue // created meanwhile: handle it as existing
			}
			if err != nil {
				return InviteResult{}, err
			}
			if fx.Mail != nil {
				m.queued()
			}
			return InviteResult{Email: email, UserID: id, Outcome: InviteCreated, Err: denied}, nil
		}
		switch existing.Status {
		case StatusInvited, StatusUnverified:
		case StatusActive:
			return InviteResult{Email: email, UserID: existing.ID, Outcome: InviteAlreadyActive}, nil
		default:
			return InviteResult{Email: email, UserID: existing.ID, Outcome: InviteSkipped}, nil
		}
		if err := allow(); err != nil {
			return InviteResult{}, err
		}
		to := existing.Email
		if existing.Status == StatusUnverified {
			to = email // the administrator's spelling replaces the registrant's
		}
		var fx store.Effects
		if denied == nil {
			if fx, err = m.inviteMail(ctx, mailInvite, existing.ID, to, existing.EmailKey, base, now); err != nil {
				return InviteResult{}, err
			}
		} else {
			m.mailHeld(ctx, mailInvite, existing.ID)
		}
		ch := store.UserChange{UpdatedAt: now}
		if existing.Role == nil || *existing.Role != role {
			r := role
			ch.SetRole, ch.Role = true, &r
		}
		cond := store.Condition{Status: existing.Status, EmailKey: &existing.EmailKey}
		outcome := InviteResent
		if existing.Status == StatusUnverified {
			// The takeover: whatever the registration left behind goes.
			invited, empty, no := StatusInvited, "", false
			ch.Status, ch.PasswordHash, ch.Contested = &invited, &empty, &no
			ch.Email, ch.EmailKey = &to, &existing.EmailKey
			fx.RevokeTokens, fx.EndSessions = allPurposes, true
			outcome = InviteConverted
		}
		ev := *existing
		ev.Email, ev.Role = to, &role
		fx.Events = m.events(m.event(ctx, flowInvited, &ev, actorAdmin, now))
		_, err = m.store.UpdateUser(ctx, existing.ID, cond, ch, fx)
		switch {
		case errors.Is(err, store.ErrConflict), isNotFound(err):
			if attempt == 0 {
				continue // accepted, verified or removed meanwhile: look again
			}
			return InviteResult{Email: email, UserID: existing.ID, Outcome: InviteSkipped}, nil
		case err != nil:
			return InviteResult{}, err
		}
		if fx.Mail != nil {
			m.queued()
		}
		if outcome == InviteConverted {
			m.log.InfoContext(ctx, "users: invitation took over an account that was never verified",
				"user_id", existing.ID)
		}
		return InviteResult{Email: email, UserID: existing.ID, Outcome: outcome, Err: denied}, nil
	}
}

// inviteMail mints an invite token bound to the address (its key) and
// renders a mail of the given kind (mailInvite, or mailSetPassword for a
// contested registration).
func (m *Manager) inviteMail(ctx context.Context, kind mailKind, userID, to, key, base string, now time.Time) (store.Effects, error) {
	tok, rec, err := newToken(m.sess.tokenKey, userID, key, store.PurposeInvite, now, m.lifetimes.Invite)
	if err != nil {
		return store.Effects{}, err
	}
	link, err := m.link(base, m.inviteLinkPath(kind), tok)
	if err != nil {
		return store.Effects{}, err
	}
	mail, err := m.newMail(ctx, kind, userID, to, mailData{Link: link}, now)
	if err != nil {
		return store.Effects{}, err
	}
	return store.Effects{Token: rec, Mail: mail}, nil
}

// ParseEmailList splits a list of addresses as typed into an invite box —
// separated by commas, semicolons or line breaks — trimming blanks and
// dropping empty items and duplicates (compared case-insensitively; the
// first spelling is kept). It does not validate; Invite does.
func ParseEmailList(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' })
	out := make([]string, 0, len(fields))
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if k := NormalizeEmail(f); !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// AcceptInvite consumes an invite token (from the link Invite mailed, or
// the set-password mail of a contested registration), sets the password and
// activates the user, in one transaction. The token must be live and its
// user still invited at the address the token was mailed to (else an error
// matching ErrInvalidToken, nothing changed); the password must be
// present, at most 1 KiB and match the password policy
// (*ValidationError). The token is checked before the password is hashed,
// so a bad token costs no hashing. The user's other pending tokens are
// revoked (its status changes).
func (m *Manager) AcceptInvite(ctx context.Context, token, password string) (*User, error) {
	u, err := m.acceptInvite(ctx, token, password)
	m.observeFlow(FlowAcceptInvite, OutcomeAccepted, err)
	if err != nil {
		return nil, opErr("accept invite", err)
	}
	return u, nil
}

func (m *Manager) acceptInvite(ctx context.Context, token, password string) (*User, error) {
	tok, user, err := m.liveToken(ctx, token, store.PurposeInvite, StatusInvited)
	if err != nil {
		return nil, err
	}
	s, err := m.settings(ctx)
	if err != nil {
		return nil, err
	}
	hash, err := m.newPasswordHash(ctx, s, password)
	if err != nil {
		return nil, err
	}
	now := m.clock()
	active := StatusActive
	after, err := m.store.ConsumeToken(ctx, tok.Hash, store.PurposeInvite, now,
		store.Condition{Status: StatusInvited, EmailKey: &tok.EmailKey},
		store.UserChange{PasswordHash: &hash, Status: &active, UpdatedAt: now},
		store.Effects{RevokeTokens: otherPurposes(store.PurposeInvite),
			Events: m.events(m.event(ctx, flowInviteAccepted, user, user.ID, now))})
	if err != nil {
		return nil, tokenError(err)
	}
	return publicUser(after), nil
}

// inviteLinkPath is the default path of an invite-token link of the kind.
func (m *Manager) inviteLinkPath(kind mailKind) string {
	if kind == mailSetPassword {
		return m.links.SetPasswordPath
	}
	return m.links.AcceptInvitePath
}

// observeInvite reports an Invite: one event per address, or one refusal
// when the call failed before any.
func (m *Manager) observeInvite(res []InviteResult, err error) {
	if m.observer == nil {
		return
	}
	for _, r := range res {
		e := Observation{Kind: KindFlow, Flow: FlowInvite, Outcome: OutcomeInvited}
		switch {
		case r.Err != nil:
			e.Outcome, e.Reason = OutcomeRefused, reasonOf(r.Err)
		case r.Outcome == InviteSkipped, r.Outcome == InviteAlreadyActive:
			e.Outcome = OutcomeSkipped
		}
		m.observer(e)
	}
	if err != nil {
		m.observeFlow(FlowInvite, OutcomeInvited, err)
	}
}
