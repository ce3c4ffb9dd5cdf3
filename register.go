package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// RegisterInput is the public registration payload. Only these fields can
// be set by a registering user (see ParseRegisterJSON for the wire form).
type RegisterInput struct {
	Email           string
	Password        string
	FirstName       string
	LastName        string
	VerificationURL string // optional; must be on the register allow-list
}

// Register registers a user (SPEC §2). In order, before the email is looked
// up, so that no error depends on whether it exists:
//
//  1. public registration must be on (ErrRegistrationDisabled);
//  2. the input must be well formed (*ValidationError, ErrInvalidPayload);
//  3. VerificationURL, if given, must be on the register allow-list
//     (ErrURLNotAllowed);
//  4. the email filter must match (ErrEmailNotAllowed);
//  5. the password policy must match (ErrPasswordPolicy; the error names
//     the rule, never the password).
//
// Then: a new email creates a user with the settings' role, unverified
// (with a verification mail) when verification is on, else active. An
// existing unverified user gets the verification mail again; if the
// password differs from the stored one, the account is marked contested and
// will only become usable through a set-password mail to the address once
// verified. Any other existing user is left alone.
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
// address is over the mail limit (WithMailLimiter) the change is made all
// the same but without a new token or mail, so the last link sent stays
// valid, and Register still returns nil.
func (m *Manager) Register(ctx context.Context, in RegisterInput) error {
	err := m.register1(ctx, in)
	m.observeFlow(FlowRegister, OutcomeRegistered, err)
	if err != nil {
		return fmt.Errorf("users: register: %w", err)
	}
	return nil
}

// errRegistrationRoleGone is a server misconfiguration, not the caller's
// fault: it matches no sentinel, so that the HTTP layer answers 500.
var errRegistrationRoleGone = errors.New("the settings' public_registration_role names a role that no longer exists; update the settings")

func (m *Manager) register1(ctx context.Context, in RegisterInput) error {
	s, err := m.settings(ctx)
	if err != nil {
		return err
	}
	if !s.PublicRegistration {
		return ErrRegistrationDisabled
	}
	email := strings.TrimSpace(in.Email)
	if err := ValidateEmail(email); err != nil {
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
	if f := s.PublicRegistrationEmailFilter; f != nil && !f.Match(email) {
		return ErrEmailNotAllowed
	}
	if err := checkPassword(s, in.Password); err != nil {
		return err
	}
	// The settings' role was checked when they were saved, but it may have
	// been deleted since (outside the library). Check it here, on every
	// path, so that a new address does not fail where an existing one
	// succeeds: that would tell the caller which addresses exist.
	if s.PublicRegistrationRole != nil {
		if _, err := m.store.GetRole(ctx, *s.PublicRegistrationRole); err != nil {
			if isNotFound(err) {
				return errRegistrationRoleGone
			}
			return err
		}
	}

	now := m.clock()
	key := NormalizeEmail(email)
	existing, err := m.store.GetUserByEmailKey(ctx, key)
	if err != nil && !isNotFound(err) {
		return err
	}
	data := MailData{FirstName: in.FirstName, LastName: in.LastName, ProjectName: s.ProjectName}

	if existing == nil {
		hash, err := m.hash(ctx, in.Password)
		if err != nil {
			return err
		}
		denied, err := m.allowMail(ctx, key)
		if err != nil {
			return err
		}
		u := &UserRecord{
			User: User{
				ID:        uuid.NewString(),
				Email:     email,
				FirstName: in.FirstName,
				LastName:  in.LastName,
				Status:    StatusActive,
				Role:      s.PublicRegistrationRole,
				CreatedAt: now,
				UpdatedAt: now,
			},
			EmailKey:     key,
			PasswordHash: hash,
		}
		var fx Effects
		if s.PublicRegistrationVerifyEmail {
			u.Status = StatusUnverified
			if fx, err = m.verifyMail(u.ID, email, in.VerificationURL, data, now); err != nil {
				return err
			}
		}
		if denied != nil {
			m.mailHeld(ctx, MailVerifyEmail, u.ID)
			fx = Effects{}
		}
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

	// An existing user. Only a still-unverified one is touched; the same
	// work is done for every other one.
	stored := m.dummyHash
	if existing.Status == StatusUnverified && existing.PasswordHash != "" {
		stored = existing.PasswordHash
	}
	same, err := m.verify(ctx, in.Password, stored)
	if err != nil {
		if stored == m.dummyHash || ctx.Err() != nil || errors.Is(err, ErrBusy) {
			return err // as the new-user path does
		}
		same = false // an unreadable stored hash cannot be this password
	}
	denied, err := m.allowMail(ctx, key)
	if err != nil {
		return err
	}
	fx, err := m.verifyMail(existing.ID, existing.Email, in.VerificationURL, data, now)
	if err != nil {
		return err
	}
	if denied != nil {
		// Keep the tokens already mailed: a new one would revoke them
		// and never be delivered.
		m.mailHeld(ctx, MailVerifyEmail, existing.ID)
		fx = Effects{}
	}
	ch := UserChange{UpdatedAt: now}
	if !same {
		contested := true
		ch.Contested = &contested
	}
	_, err = m.store.UpdateUser(ctx, existing.ID, Condition{Status: StatusUnverified}, ch, fx)
	switch {
	case err == nil:
		if fx.Mail != nil {
			m.queued()
		}
		return nil
	case errors.Is(err, ErrConflict), isNotFound(err):
		return nil
	default:
		return err
	}
}

// verifyMail mints a verification token and renders its mail.
func (m *Manager) verifyMail(userID, to, base string, d MailData, now time.Time) (Effects, error) {
	tok, rec, err := newToken(userID, PurposeVerifyEmail, now, m.verifyTTL)
	if err != nil {
		return Effects{}, err
	}
	if d.Link, err = m.link(base, "/users/register/verify-email", tok); err != nil {
		return Effects{}, err
	}
	mail, err := m.newMail(MailVerifyEmail, userID, to, d, now)
	if err != nil {
		return Effects{}, err
	}
	return Effects{Token: rec, Mail: mail}, nil
}

// hash and verify run the hasher; they are the one place password work
// happens, under the hashing limit (WithHashConcurrency): they return
// ErrBusy when its queue is full, and ctx's error when ctx is done before a
// slot is free.
func (m *Manager) hash(ctx context.Context, pw string) (string, error) {
	if err := m.acquireHash(ctx); err != nil {
		return "", err
	}
	defer m.hashGate.release()
	return m.hasher.Hash(pw)
}

func (m *Manager) verify(ctx context.Context, pw, encoded string) (bool, error) {
	if err := m.acquireHash(ctx); err != nil {
		return false, err
	}
	defer m.hashGate.release()
	return m.hasher.Verify(pw, encoded)
}

// allowMail asks the mail limiter whether a mail may go to the address
// with this key (a normalised email). A non-nil denied (matching
// ErrRateLimited) means it is over the limit; a non-nil err, that the
// limiter failed.
func (m *Manager) allowMail(ctx context.Context, key string) (denied, err error) {
	if m.mailLimit == nil {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err // nothing will be written: count nothing
	}
	switch _, err := m.mailLimit.Allow(ctx, key); {
	case err == nil:
		return nil, nil
	case errors.Is(err, ErrRateLimited):
		m.observe(Event{Kind: EventRateLimited, Limiter: "mail"})
		return err, nil
	default:
		return nil, fmt.Errorf("mail limiter: %w", err)
	}
}

// mailHeld logs a mail the mail limiter held back: its kind and user id,
// never the address.
func (m *Manager) mailHeld(ctx context.Context, kind MailKind, userID string) {
	m.log.InfoContext(ctx, "users: recipient over the mail rate limit; no mail queued",
		"kind", string(kind), "user_id", userID)
}
