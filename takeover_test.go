package users_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
)

// An attacker registers the victim's address first, with the attacker's
// password, and leaves the verification mail unread (it reaches the
// victim, who may click it later). The administrator then invites that
// address: the invitation takes the account over. It becomes invited with
// the invite's role, keeps no password, and the verification link in the
// victim's inbox no longer works, so the attacker's password never becomes
// the account's; the invitation is mailed, and only whoever reads the
// mailbox chooses the password.
//
// Checked against the old behaviour: Invite skipped the unverified account
// (no mail, role not applied), the old verification link activated it with
// the attacker's password, and this test failed on the outcome.
func TestInviteTakesOverNeverVerifiedAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	editor, err := e.m.CreateRole(e.ctx, users.Role{Name: "Editor"})
	require.NoError(t, err)

	// The attacker registers twice, with two passwords (so the account is
	// also contested), and never verifies.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "Victim@example.com", Password: "attacker-pw", FirstName: "Mallory"}))
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "victim@example.com", Password: "attacker-pw-2"}))
	pending := e.allMail()
	require.Len(t, pending, 2, "two verification mails wait in the outbox")
	before := e.userByEmail("victim@example.com")
	require.True(t, before.Contested)

	res, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"victim@example.com"}, Role: editor.ID, InviteURL: inviteURL})
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, users.InviteConverted, res[0].Outcome)
	assert.Equal(t, "converted", string(res[0].Outcome))
	assert.Equal(t, before.ID, res[0].UserID)
	require.NoError(t, res[0].Err)

	u := e.userByEmail("victim@example.com")
	assert.Equal(t, users.StatusInvited, u.Status)
	require.NotNil(t, u.Role)
	assert.Equal(t, editor.ID, *u.Role, "the invite's role")
	assert.Empty(t, u.PasswordHash, "the attacker's password is gone")
	assert.False(t, u.Contested)
	assert.Equal(t, "victim@example.com", u.Email, "the administrator's spelling")

	// Everything queued reaches the mailbox: the two verification mails,
	// then the invitation.
	msgs := e.deliver()
	require.Len(t, msgs, 3)
	var verifyLinks []string
	var invite users.Message
	for _, m := range msgs {
		switch m.Subject {
		case users.SubjectVerifyEmail:
			verifyLinks = append(verifyLinks, memmailer.Token(m))
		case users.SubjectInvite:
			invite = m
		}
	}
	require.Len(t, verifyLinks, 2)
	require.NotEmpty(t, invite.To)
	for _, tok := range verifyLinks {
		_, err := e.m.VerifyEmail(e.ctx, tok)
		require.ErrorIs(t, err, users.ErrInvalidToken, "the verification links were revoked")
		sum := sha256.Sum256([]byte(tok))
		_, err = e.store.GetToken(e.ctx, sum[:])
		require.ErrorIs(t, err, store.ErrNotFound, "revoked, not merely refused while invited")
	}
	for _, pw := range []string{"attacker-pw", "attacker-pw-2"} {
		_, err := e.m.Authenticate(e.ctx, "victim@example.com", pw)
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	assert.Equal(t, users.StatusInvited, e.userByEmail("victim@example.com").Status, "the old links changed nothing")

	// The owner accepts and chooses the password.
	owner, err := e.m.AcceptInvite(e.ctx, memmailer.Token(invite), "the-owners-password")
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, owner.Status)
	_, err = e.m.Authenticate(e.ctx, "victim@example.com", "the-owners-password")
	require.NoError(t, err)
	for _, pw := range []string{"attacker-pw", "attacker-pw-2"} {
		_, err := e.m.Authenticate(e.ctx, "victim@example.com", pw)
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
}

// An active user is left alone by an invitation: "already active", no
// change, no mail. Draft, suspended and archived users are "skipped".
func TestInviteAlreadyActive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	act, err := e.m.Create(e.ctx, users.CreateInput{Email: "act@example.com", Password: "pw", Role: &e.member.ID})
	require.NoError(t, err)
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "sus@example.com", Password: "pw", Status: users.StatusSuspended})
	require.NoError(t, err)
	before := e.userByEmail("act@example.com")
	other, err := e.m.CreateRole(e.ctx, users.Role{Name: "Other"})
	require.NoError(t, err)

	res, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"ACT@example.com", "sus@example.com"}, Role: other.ID})
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, users.InviteAlreadyActive, res[0].Outcome)
	assert.Equal(t, "already active", string(res[0].Outcome))
	assert.Equal(t, act.ID, res[0].UserID)
	assert.NoError(t, res[0].Err)
	assert.Equal(t, users.InviteSkipped, res[1].Outcome)
	assert.Equal(t, before, e.userByEmail("act@example.com"), "nothing changes")
	assert.Empty(t, e.deliver(), "no mail")
}

// Over the administrators' mail limit the takeover still happens — the
// attacker's password and verification links are gone — but no invitation
// is mailed (the result says why); a later invitation mails it.
func TestInviteTakeoverOverMailLimit(t *testing.T) {
	t.Parallel()
	deny := &recordingLimiter{deny: &users.RateLimitError{Limit: 10, Window: time.Hour, RetryAfter: time.Minute}}
	e := newEnv(t, users.WithAdminMailLimiter(deny), quiet)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "attacker-pw"}))
	link := memmailer.Token(e.onlyMail("v@example.com"))

	res, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"v@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.Equal(t, users.InviteConverted, res[0].Outcome)
	require.ErrorIs(t, res[0].Err, users.ErrRateLimited)
	u := e.userByEmail("v@example.com")
	assert.Equal(t, users.StatusInvited, u.Status)
	assert.Empty(t, u.PasswordHash)
	assert.Empty(t, e.deliver())
	_, err = e.m.VerifyEmail(e.ctx, link)
	require.ErrorIs(t, err, users.ErrInvalidToken, "revoked even though no invitation went out")

	deny.deny = nil
	res, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"v@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.Equal(t, users.InviteResent, res[0].Outcome)
	_, err = e.m.AcceptInvite(e.ctx, memmailer.Token(e.onlyMail("v@example.com")), "owner-pw")
	require.NoError(t, err)
}
