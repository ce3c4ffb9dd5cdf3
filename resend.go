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

// ResendVerification mails the verification link of a registration again,
// for someone who lost the first mail or let its link expire; it is not
// "register again", so it needs no password. It is an extension of this
// library: Directus has no such call.
//
// In order, before the email is looked up, so that no error depends on
// whether it exists — the checks of Register:
//
//  1. public registration must be on (ErrRegistrationDisabled);
//  2. email must be well formed (*ValidationError, ErrInvalidPayload);
//  3. verificationURL, if not empty, must be on the register allow-list
//     (ErrURLNotAllowed);
//  4. the email filter must match (ErrEmailNotAllowed).
//
// Then, when the address belongs to a user still unverified, a new
// verification token replaces the earlier ones (re-issuing revokes) and its
// mail is queued to the address as stored, with the link built as Register
// builds it. Nothing else changes: a contested account stays contested.
// For any other address — unknown, or whose user is active, invited,
// suspended… — nothing is written and no mail is sent.
//
// ResendVerification returns nil on every one of those paths, and does the
// same work on each, as Register does, and takes at least
// Limits.RequestStall (see RequestPasswordReset): one settings read, one lookup, one
// call to the mail limiter (keyed by the normalised address, existing or
// not), one token minted and one mail rendered, and one conditional write
// attempted, which the Store refuses unless the user is still unverified
// with that address. Mail is sent by the delivery worker, never on the
// request path. When the address is over the mail limit (Limits.Mail)
// no token is minted and no mail queued, so the last link sent stays valid,
// and ResendVerification still returns nil.
func (m *Manager) ResendVerification(ctx context.Context, email, verificationURL string) error {
	defer m.padTo(ctx, time.Now())
	if err := m.resendVerification(ctx, email, verificationURL); err != nil {
		return opErr("resend verification", err)
	}
	return nil
}

func (m *Manager) resendVerification(ctx context.Context, email, verificationURL string) error {
	s, err := m.settings(ctx)
	if err != nil {
		return err
	}
	if !s.PublicRegistration {
		return ErrRegistrationDisabled
	}
	email = strings.TrimSpace(email)
	if err := validateEmail(email); err != nil {
		return err
	}
	if verificationURL != "" && !m.register.Allowed(verificationURL) {
		return urlNotAllowed("verification_url", verificationURL, "verify registered users")
	}
	if f := s.PublicRegistrationEmailFilter; f != nil && !f.Match(NormalizeEmail(email)) {
		return ErrEmailNotAllowed
	}

	now := m.clock()
	key := NormalizeEmail(email)
	existing, err := m.store.GetUserByEmailKey(ctx, key)
	if err != nil && !isNotFound(err) {
		return err
	}
	// An unknown address gets a stand-in that no user has, so that the
	// same token, mail and write are made and refused as for a user in
	// another status.
	target := &store.User{ID: uuid.NewString(), Email: email}
	if existing != nil {
		target = existing
	}
	denied, err := m.allowMail(ctx, key)
	if err != nil {
		return err
	}
	data := mailData{}.withProject(s) // no names: see Template
	fx, err := m.verifyMail(ctx, target.ID, target.Email, key, verificationURL, data, now)
	if err != nil {
		return err
	}
	if denied != nil {
		// Keep the tokens already mailed: a new one would revoke them and
		// never be delivered.
		if existing != nil && existing.Status == StatusUnverified {
			m.mailHeld(ctx, mailVerifyEmail, existing.ID)
		}
		fx = store.Effects{}
	}
	cond := store.Condition{Status: StatusUnverified, EmailKey: &key}
	_, err = m.store.UpdateUser(ctx, target.ID, cond, store.UserChange{UpdatedAt: now}, fx)
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

// ResendVerificationFor mails the verification link of an unverified user
// again at an administrator's request (an admin console's "Resend";
// authorise before calling). Unlike ResendVerification, the public call,
// it names the user by id, does not depend on the registration settings
// (registration may be closed since, or the filter changed), and counts
// against the administrators' mail allowance (Limits.AdminMail), which
// anonymous traffic cannot use up; its errors say what happened, since the
// caller is trusted. A new token replaces the earlier ones; the link is
// built as Register builds it with no verification_url.
//
// Errors: ErrUserNotFound; a *ValidationError for "status" when the user
// is not unverified (or has no email); an error matching ErrRateLimited (a
// *RateLimitError) when the address is over the allowance, in which case
// nothing changes and the links already mailed stay valid.
func (m *Manager) ResendVerificationFor(ctx context.Context, userID string) error {
	if err := m.resendVerificationFor(ctx, userID); err != nil {
		return opErr("resend verification", err)
	}
	return nil
}

func (m *Manager) resendVerificationFor(ctx context.Context, userID string) error {
	u, err := m.store.GetUser(ctx, userID)
	if isNotFound(err) {
		return ErrUserNotFound
	}
	if err != nil {
		return err
	}
	if u.Status != StatusUnverified || u.Email == "" {
		return invalid("status", fmt.Sprintf("must be unverified to resend the verification mail, not %q", u.Status))
	}
	s, err := m.settings(ctx)
	if err != nil {
		return err
	}
	key := u.EmailKey
	denied, err := m.allowAdminMail(ctx, key)
	if err != nil {
		return err
	}
	if denied != nil {
		m.mailHeld(ctx, mailVerifyEmail, u.ID)
		return denied
	}
	now := m.clock()
	data := mailData{}.withProject(s) // no names: see Template
	fx, err := m.verifyMail(ctx, u.ID, u.Email, key, "", data, now)
	if err != nil {
		return err
	}
	_, err = m.store.UpdateUser(ctx, u.ID, store.Condition{Status: StatusUnverified, EmailKey: &key}, store.UserChange{UpdatedAt: now}, fx)
	switch {
	case errors.Is(err, store.ErrConflict):
		return invalid("status", "is no longer unverified")
	case isNotFound(err):
		return ErrUserNotFound
	case err != nil:
		return err
	}
	m.queued()
	return nil
}
