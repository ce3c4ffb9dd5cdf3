package users_test

import (
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

var mailLinkRE = regexp.MustCompile(`https?://\S+`)

// links returns the links of a mail's text part, by path.
func mailLinks(t *testing.T, msg users.Message) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range mailLinkRE.FindAllString(msg.Text, -1) {
		u, err := url.Parse(l)
		require.NoError(t, err)
		out[u.Path] = u.Query().Get("token")
	}
	return out
}

const newAddr = "Nina.New@Example.org"

// changeMails asks to move u to newEmail and returns the tokens of the
// confirm link (mailed to newEmail) and of the cancel link (mailed to the
// current address; "" when none).
func (e *env) changeMails(u *users.User, newEmail string) (confirm, cancel, reset string) {
	e.t.Helper()
	require.NoError(e.t, e.m.RequestEmailChange(e.ctx, u.ID, newEmail, ""))
	for _, msg := range e.deliver() {
		ls := mailLinks(e.t, msg)
		switch msg.To {
		case newEmail:
			confirm = ls["/admin/confirm-email"]
		case u.Email:
			cancel, reset = ls["/admin/cancel-email-change"], ls["/admin/reset-password"]
		default:
			e.t.Fatalf("mail to %s", msg.To)
		}
	}
	return confirm, cancel, reset
}

func TestEmailChangeConfirmedFromTheNewAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	s := e.login(ownerEmail, ownerPass)

	require.NoError(t, e.m.RequestEmailChange(e.ctx, u.ID, newAddr, ""))
	msgs := e.deliver()
	require.Len(t, msgs, 2)
	var notice, confirm users.Message
	for _, m := range msgs {
		switch m.To {
		case ownerEmail:
			notice = m
		case newAddr:
			confirm = m
		}
	}
	require.NotEmpty(t, notice.Text, "a notice to the current address")
	require.NotEmpty(t, confirm.Text, "a confirm link to the new address")
	assert.Contains(t, notice.Text, "N***@Example.org", "the notice names the new address partly")
	assert.NotContains(t, notice.Text, "Nina.New", "and only partly")
	assert.NotContains(t, notice.HTML, "Nina.New")
	links := mailLinks(t, notice)
	require.NotEmpty(t, links["/admin/cancel-email-change"])
	require.NotEmpty(t, links["/admin/reset-password"])
	tok := mailLinks(t, confirm)["/admin/confirm-email"]
	require.NotEmpty(t, tok)

	// Until confirmed, nothing changes: sign-in stays on the old address.
	_, err := e.m.Authenticate(e.ctx, ownerEmail, ownerPass)
	require.NoError(t, err)
	_, err = e.m.Authenticate(e.ctx, newAddr, ownerPass)
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	got, err := e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, ownerEmail, got.Email)

	// The page behind the link can show both addresses first.
	who, to, err := e.m.EmailChange(e.ctx, tok, store.PurposeEmailChange)
	require.NoError(t, err)
	assert.Equal(t, u.ID, who.ID)
	assert.Equal(t, newAddr, to)

	after, err := e.m.ConfirmEmailChange(e.ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, newAddr, after.Email)
	_, err = e.m.Authenticate(e.ctx, newAddr, ownerPass)
	require.NoError(t, err)
	_, err = e.m.Authenticate(e.ctx, ownerEmail, ownerPass)
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.ErrorIs(t, err, users.ErrInvalidCredentials, "the change ends every session")
	acts, err := e.m.ListActivity(e.ctx, users.ActivityQuery{Filter: []byte(`{"flow":{"_eq":"updated"}}`)})
	require.NoError(t, err)
	require.Len(t, acts, 1, "the change is recorded")
	assert.Equal(t, newAddr, acts[0].Email)
	assert.Equal(t, u.ID, acts[0].Actor, "by the user, from the link")

	// Replay, cancel after confirm, the old address's reset link: all dead.
	_, err = e.m.ConfirmEmailChange(e.ctx, tok)
	require.ErrorIs(t, err, users.ErrTokenUsed)
	_, err = e.m.CancelEmailChange(e.ctx, links["/admin/cancel-email-change"])
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.ResetPassword(e.ctx, links["/admin/reset-password"], "another-password")
	require.ErrorIs(t, err, users.ErrInvalidToken)
	got, err = e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, newAddr, got.Email)
}

func TestEmailChangeCancelledFromTheOldAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	s := e.login(ownerEmail, ownerPass)
	confirm, cancel, reset := e.changeMails(u, newAddr)

	// A confirm token is no cancel token, and the other way round.
	_, err := e.m.CancelEmailChange(e.ctx, confirm)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, _, err = e.m.EmailChange(e.ctx, cancel, store.PurposeEmailChange)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, _, err = e.m.EmailChange(e.ctx, cancel, store.PurposeVerifyEmail)
	require.Error(t, err)

	_, to, err := e.m.EmailChange(e.ctx, cancel, store.PurposeEmailChangeCancel)
	require.NoError(t, err)
	assert.Equal(t, newAddr, to)
	after, err := e.m.CancelEmailChange(e.ctx, cancel)
	require.NoError(t, err)
	assert.Equal(t, ownerEmail, after.Email)
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.ErrorIs(t, err, users.ErrInvalidCredentials, "cancelling ends every session")

	_, err = e.m.ConfirmEmailChange(e.ctx, confirm)
	require.ErrorIs(t, err, users.ErrInvalidToken, "confirm after cancel")
	_, err = e.m.CancelEmailChange(e.ctx, cancel)
	require.ErrorIs(t, err, users.ErrTokenUsed, "cancel replayed")
	got, err := e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, ownerEmail, got.Email)

	// The notice's reset link still sets a new password.
	_, err = e.m.ResetPassword(e.ctx, reset, "a-brand-new-password")
	require.NoError(t, err)
	_, err = e.m.Authenticate(e.ctx, ownerEmail, "a-brand-new-password")
	require.NoError(t, err)
}

func TestEmailChangeAddressTakenMeanwhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	confirm, _, _ := e.changeMails(u, newAddr)
	other, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "nina.new@example.org", Password: "pw"})
	require.NoError(t, err)
	_, err = e.m.ConfirmEmailChange(e.ctx, confirm)
	require.ErrorIs(t, err, users.ErrDuplicateEmail)
	got, err := e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, ownerEmail, got.Email)
	o, err := e.m.User(e.ctx, other.ID)
	require.NoError(t, err)
	assert.Equal(t, "nina.new@example.org", o.Email)
	_, err = e.m.Authenticate(e.ctx, ownerEmail, ownerPass)
	require.NoError(t, err)
}

// Asking for an address another user has answers as for a free one and
// mails the current address the same notice; the other user gets nothing,
// and no link that could move anyone to it exists.
func TestEmailChangeToATakenAddressTellsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	taken := e.newMember("taken@example.com")
	require.NoError(t, e.m.RequestEmailChange(e.ctx, u.ID, "Taken@Example.com", ""))
	msgs := e.deliver()
	require.Len(t, msgs, 1)
	assert.Equal(t, ownerEmail, msgs[0].To)
	assert.Contains(t, msgs[0].Text, "T***@Example.com")
	for _, m := range e.allMail() {
		assert.NotEqual(t, taken.ID, m.UserID)
	}

	// A free address: the same answer, the same notice, and a confirm link.
	v := e.newMember("victor@example.com")
	require.NoError(t, e.m.RequestEmailChange(e.ctx, v.ID, "free@example.com", ""))
	msgs = e.deliver()
	require.Len(t, msgs, 2)
}

func TestEmailChangeBindings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	b := e.newMember("bob@example.com")

	// A later request revokes the earlier one's links.
	first, firstCancel, _ := e.changeMails(u, "first@example.com")
	second, _, _ := e.changeMails(u, "second@example.com")
	_, err := e.m.ConfirmEmailChange(e.ctx, first)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.CancelEmailChange(e.ctx, firstCancel)
	require.ErrorIs(t, err, users.ErrInvalidToken)

	// A token moves only its own user; bob's request and token leave the
	// owner alone.
	bobConfirm, _, _ := e.changeMails(b, "robert@example.com")
	after, err := e.m.ConfirmEmailChange(e.ctx, bobConfirm)
	require.NoError(t, err)
	assert.Equal(t, b.ID, after.ID)
	got, err := e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, ownerEmail, got.Email)

	// The token is bound to the address it was asked from: an
	// administrator's change of it in between kills the link.
	other := "elsewhere@example.com"
	_, err = e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Email: &other})
	require.NoError(t, err)
	_, err = e.m.ConfirmEmailChange(e.ctx, second)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	got, err = e.m.User(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, other, got.Email)

	// Garbage and wrong-purpose tokens.
	_, err = e.m.ConfirmEmailChange(e.ctx, "garbage")
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, reset, _ := e.changeMails(after, "bobby@example.com")
	_, err = e.m.ConfirmEmailChange(e.ctx, reset)
	require.ErrorIs(t, err, users.ErrInvalidToken)
}

func TestEmailChangeExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.Lifetimes{EmailChange: 10 * time.Minute})
	u := e.owner(nil)
	confirm, cancel, _ := e.changeMails(u, newAddr)
	e.clock.Advance(10 * time.Minute)
	_, err := e.m.ConfirmEmailChange(e.ctx, confirm)
	require.ErrorIs(t, err, users.ErrTokenExpired)
	_, err = e.m.CancelEmailChange(e.ctx, cancel)
	require.ErrorIs(t, err, users.ErrTokenExpired)
}

func TestRequestEmailChangeRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.Links{EmailChangeURLs: []string{"https://app.example.com/confirm"}})
	u := e.owner(nil)
	requireField(t, e.m.RequestEmailChange(e.ctx, u.ID, "not-an-address", ""), "email", users.ErrInvalidPayload)
	requireField(t, e.m.RequestEmailChange(e.ctx, u.ID, " OWNER@example.com ", ""), "email", users.ErrInvalidPayload)
	requireField(t, e.m.RequestEmailChange(e.ctx, u.ID, newAddr, "https://evil.example.com/confirm"), "confirm_url", users.ErrURLNotAllowed)
	require.ErrorIs(t, e.m.RequestEmailChange(e.ctx, "nobody", newAddr, ""), users.ErrUserNotFound)
	suspended := users.StatusSuspended
	v := e.newMember("sus@example.com")
	_, err := e.m.UpdateUser(e.ctx, v.ID, users.UserPatch{Status: &suspended})
	require.NoError(t, err)
	require.ErrorIs(t, e.m.RequestEmailChange(e.ctx, v.ID, newAddr, ""), users.ErrInvalidCredentials)
	assert.Empty(t, e.allMail(), "a refusal mails nothing")

	// An allowed confirm URL is the confirm link's base.
	require.NoError(t, e.m.RequestEmailChange(e.ctx, u.ID, newAddr, "https://app.example.com/confirm"))
	for _, m := range e.deliver() {
		if m.To == newAddr {
			assert.Contains(t, m.Text, "https://app.example.com/confirm?token=")
		}
	}
}

func TestRequestEmailChangeMailLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.owner(nil)
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = e.m.RequestEmailChange(e.ctx, u.ID, newAddr, "")
	}
	require.ErrorIs(t, err, users.ErrRateLimited)
}
