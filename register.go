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

// RegisterInput is the public registration payload. Only these fields can
// be set by a registering user (httpapi's POST /users/register takes the
// same ones, in Directus's JSON names).
type RegisterInput struct {
	Email           string
	Password        string
	FirstName       string
	LastName        string
	VerificationURL string // optional; must be on the register allow-list
}

// Register registers a user. In order, before the email is looked up, so
// that no error depends on whether it exists:
//
//  1. public registration must be on (ErrRegistrationDisabled);
//  2. the input must be well formed (*ValidationError, ErrInvalidPayload):
//     the email (surrounding white space is trimmed), the password (1 to
//     1024 bytes), the names (at most 50 characters of visible text);
//  3. VerificationURL, if given, must be on the register allow-list
//     (ErrURLNotAllowed);
//  4. the email filter must match (ErrEmailNotAllowed);
//  5. the password policy must match (ErrPasswordPolicy; the error gives
//     the policy's description, never the password). This check runs
//     under the hashing limit, so it may answer ErrBusy first.
//
// Then: a new email creates a user with the settings' role, unverified
// (with a verification mail) when verification is on, else active. An
// existing unverified user gets the verification mail again; if the
// password differs from the stored one, the account is marked contested and
// will only become usable through a set-password mail to the address once
// verified. Any other existing user is left alone.
//
// Under a flood of password work, Register answers ErrBusy (a *BusyError
// estimating the wait) before any of these checks and before any store
// call (see HashBusy); a call it lets through may still get ErrBusy when
// it reaches the hashing queue.
//
// Register returns nil on every one of those paths, and does the same work
// on each: one settings read, one lookup, one password hash or verify at
// the same parameters (under the hashing limit, so that ErrBusy or a
// context error while waiting for it comes at the same point on every
// path, before anything is written), one call to the mail limiter, one
// token minted and one mail rendered, and one write transaction attempted
// (for an existing user it is the same conditional update, which the store
// refuses unless the user is still unverified). Mail is written to the
// outbox and sent by the worker, never on the request path. When the
// address is over the mail limit (Limits.Mail) the change is made all
// the same but without a new token or mail, so the last link sent stays
// valid, and Register still returns nil. Only the paths that mail the
// address count against its allowance.
func (m *Manager) Register(ctx context.Context, in RegisterInput) error {
	err := m.register1(ctx, in)
	m.observeFlow(FlowRegister, OutcomeRegistered, err)
	return opErr("register", err)
}

// errRegistrationRoleGone is a server misconfiguration, not the caller's
// fault: it matches no sentinel, so that the HTTP layer answers 500.
var errRegistrationRoleGone = errors.New("the settings' public_registration_role names a role that no longer exists; update the settings")

func (m *Manager) register1(ctx context.Context, in RegisterInput) error {
	// Under a flood, shed before any store work: the answer depends on the
	// load and the client, never on the address.
	if err := m.hashBusy(ticketOf(ctx)); err != nil {
		return err
	}
	s, err := m.settings(ctx)
	if err != nil {
		return err
	}
	if !s.PublicRegistration {
		return ErrRegistrationDisabled
	}
	email := strings.TrimSpace(in.Email)
	if err := validateEmail(email); err != nil {
		return err
	}
	if err := validatePasswordShape(in.Password); err != nil {
		return err
	}
	if err := validateName("first_name", in.FirstName); err != nil {
		return err
	}
	if err := validateName("last_name", in.LastName); err != nil {
		return err
	}
	if in.VerificationURL != "" && !m.register.Allowed(in.VerificationURL) {
		return urlNotAllowed("verification_url", in.VerificationURL, "verify registered users")
	}
	if f := s.PublicRegistrationEmailFilter; f != nil && !f.Match(NormalizeEmail(email)) {
		return ErrEmailNotAllowed
	}

	// The password work — the policy, then one hash or one verify — runs
	// under the hashing limit, with the lookup between them.
	sl, err := m.acquireHash(ctx)
	if err != nil {
		return err
	}
	if err := m.checkPolicy(s, in.Password, sl); err != nil {
		return err // the slot is released (or handed to a late policy match)
	}
	existing, hash, same, err := m.registerLookup(ctx, s, sl, email, in.Password)
	sl.release()
	if err != nil {
		return err
	}

	now := m.clock()
	key := NormalizeEmail(email)
	data := mailData{}.withProject(s) // no names: see Template

	// The application's hook sees every well-formed registration, new
	// address or known one: its duration tells nothing. A refusal does
	// what a known address does — asks the limiter about a key nobody
	// has, renders the mail — and writes nothing.
	he := &Event{Flow: flowRegistered, Action: actionOf(flowRegistered), Email: email, Time: now}
	if s.PublicRegistrationRole != nil {
		he.Role = *s.PublicRegistrationRole
	}
	if existing != nil {
		he.UserID = existing.ID
	}
	if err := m.before(ctx, "BeforeRegister", m.hooks.BeforeRegister, he); err != nil {
		if _, err := m.allowMail(ctx, unmailedKey(key)); err != nil {
			return err
		}
		if _, err := m.verifyMail(ctx, "", email, key, in.VerificationURL, data, now); err != nil {
			return err
		}
		return nil
	}

	if existing == nil {
		denied, err := m.allowMail(ctx, key)
		if err != nil {
			return err
		}
		u := &store.User{
			ID:           uuid.NewString(),
			Email:        email,
			FirstName:    in.FirstName,
			LastName:     in.LastName,
			Status:       StatusActive,
			Role:         s.PublicRegistrationRole,
			CreatedAt:    now,
			UpdatedAt:    now,
			EmailKey:     key,
			PasswordHash: hash,
			Metadata:     he.Metadata,
		}
		if m.hooks.BeforeRegister != nil {
			u.Role = nil
			if he.Role != "" {
				u.Role = &he.Role
			}
		}
		var fx store.Effects
		if s.PublicRegistrationVerifyEmail {
			u.Status = StatusUnverified
			if fx, err = m.verifyMail(ctx, u.ID, email, key, in.VerificationURL, data, now); err != nil {
				return err
			}
		}
		if denied != nil {
			m.mailHeld(ctx, mailVerifyEmail, u.ID)
			fx = store.Effects{}
		}
		fx.Events = m.events(m.event(ctx, flowRegistered, u, "", now))
		switch err := m.store.CreateUser(ctx, u, fx); {
		case errors.Is(err, ErrDuplicateEmail):
			// Someone registered the same address at the same moment; as for
			// any existing user, the answer is the same and nothing changes.
			return nil
		case errors.Is(err, ErrRoleNotFound):
			return fmt.Errorf("the registration role no longer exists: %w", err)
		case err != nil:
			return err
		}
		if fx.Mail != nil {
			m.queued()
		}
		return nil
	}

	// An existing user. Only a still-unverified one is touched, and only
	// its address is counted by the mail limiter (it is mailed); for any
	// other the limiter is asked about a key that no address shares, so
	// that the work is the same and the address's allowance is untouched.
	limitKey := key
	if existing.Status != StatusUnverified {
		limitKey = unmailedKey(key)
	}
	denied, err := m.allowMail(ctx, limitKey)
	if err != nil {
		return err
	}
	fx, err := m.verifyMail(ctx, existing.ID, existing.Email, existing.EmailKey, in.VerificationURL, data, now)
	if err != nil {
		return err
	}
	if denied != nil {
		// Keep the tokens already mailed: a new one would revoke them
		// and never be delivered.
		m.mailHeld(ctx, mailVerifyEmail, existing.ID)
		fx = store.Effects{}
	}
	ch := store.UserChange{UpdatedAt: now}
	if !same {
		contested := true
		ch.Contested = &contested
	}
	cond := store.Condition{Status: StatusUnverified, EmailKey: &existing.EmailKey}
	_, err = m.store.UpdateUser(ctx, existing.ID, cond, ch, fx)
	switch {
	case err == nil:
		if fx.Mail != nil {
			m.queued()
		}
		return nil
	case errors.Is(err, store.ErrConflict), isNotFound(err):
		return nil
	default:
		return err
	}
}

// registerLookup is Register's work under the hashing slot: the role
// check, the lookup, and one hash (a new address) or one verify (an
// existing one: against its hash when it is still unverified, else
// against the dummy hash).
func (m *Manager) registerLookup(ctx context.Context, s *Settings, sl *slot, email, password string) (existing *store.User, hash string, same bool, err error) {
	// The settings' role was checked when they were saved, but it may have
	// been deleted since (outside the library). Check it here, on every
	// path, so that a new address does not fail where an existing one
	// succeeds: that would tell the caller which addresses exist.
	if s.PublicRegistrationRole != nil {
		if _, err := m.store.GetRole(ctx, *s.PublicRegistrationRole); err != nil {
			if isNotFound(err) {
				return nil, "", false, errRegistrationRoleGone
			}
			return nil, "", false, err
		}
	}
	existing, err = m.store.GetUserByEmailKey(ctx, NormalizeEmail(email))
	if err != nil && !isNotFound(err) {
		return nil, "", false, err
	}
	if existing == nil {
		hash, err = m.hashIn(sl, password)
		return nil, hash, false, err
	}
	stored := m.dummyHash
	if existing.Status == StatusUnverified && existing.PasswordHash != "" {
		stored = existing.PasswordHash
	}
	same, err = m.verifyIn(sl, password, stored)
	if err != nil {
		if stored == m.dummyHash {
			return nil, "", false, err // as the new-user path does
		}
		same = false // an unreadable stored hash cannot be this password
	}
	return existing, "", same, nil
}

// unmailedKey is the mail limiter's key for a registration that mails
// nobody: no normalised address can be spelled this way (an address has
// no space), so it never counts against an address.
func unmailedKey(key string) string { return "unmailed " + key }

// verifyMail mints a verification token bound to the address (its key)
// and renders its mail.
func (m *Manager) verifyMail(ctx context.Context, userID, to, key, base string, d mailData, now time.Time) (store.Effects, error) {
	tok, rec, err := newToken(m.sess.tokenKey, userID, key, store.PurposeVerifyEmail, now, m.lifetimes.VerifyEmail)
	if err != nil {
		return store.Effects{}, err
	}
	if d.Link, err = m.link(base, m.links.VerifyEmailPath, tok); err != nil {
		return store.Effects{}, err
	}
	mail, err := m.newMail(ctx, mailVerifyEmail, userID, to, d, now)
	if err != nil {
		return store.Effects{}, err
	}
	return store.Effects{Token: rec, Mail: mail}, nil
}
