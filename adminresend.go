package users

import (
	"context"
	"errors"
	"fmt"

	"github.com/gousers/users/store"
)

// ResendVerificationFor mails the verification link of an unverified user
// again at an administrator's request (an admin console's "Resend";
// authorise before calling). Unlike ResendVerification, the public call,
// it names the user by id, does not depend on the registration settings
// (registration may be closed since, or the filter changed), and counts
// against the administrators' mail allowance (WithAdminMailLimiter), which
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
		m.mailHeld(ctx, MailVerifyEmail, u.ID)
		return denied
	}
	now := m.clock()
	data := MailData{FirstName: u.FirstName, LastName: u.LastName}.withProject(s)
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
