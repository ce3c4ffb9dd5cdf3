package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

const (
	adminToken = "admin-token-0123456789"
	// hashPrefix starts every userstest.Hasher hash: no response may hold it.
	hashPrefix = "$insecure-sha256$"
	password   = "correct horse battery"
)

// fixture is a Manager on a memstore with a recording mailer, the fast test
// hasher, a fixed clock, a role, and the handler with BearerToken(adminToken).
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store store.Store
	mem   *memstore.Store
	mail  *memmailer.Mailer
	clock *testenv.Clock
	m     *users.Manager
	h     http.Handler
	role  *users.Role
	logs  *testenv.Buffer
}

type fixtureConfig struct {
	store   func(*memstore.Store) store.Store
	manager []users.Option
	handler []httpapi.Option
	noAuth  bool
}

func newFixture(t *testing.T, handlerOpts ...httpapi.Option) *fixture {
	return newFixtureWith(t, fixtureConfig{handler: handlerOpts})
}

func newFixtureWith(t *testing.T, fc fixtureConfig) *fixture {
	t.Helper()
	f := &fixture{
		t:     t,
		ctx:   context.Background(),
		mem:   memstore.New(),
		mail:  memmailer.New(),
		clock: testenv.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		logs:  &testenv.Buffer{},
	}
	f.store = f.mem
	if fc.store != nil {
		f.store = fc.store(f.mem)
	}
	opts := append([]users.Option{
		clockLimits(limits(func(*users.Limits) {}), f.clock.Now),
		users.WithHasher(userstest.Hasher{}),
		users.WithClock(f.clock.Now),
		users.WithLogger(slog.New(slog.NewTextHandler(f.logs, nil))),
		users.Links{PublicURL: "https://app.example.com"},
		users.Links{RegisterURLs: []string{"https://app.example.com/verify"}},
		users.Links{InviteURLs: []string{"https://app.example.com/welcome"}},
	}, fc.manager...)
	var err error
	f.m, err = users.New(f.store, f.mail, opts...)
	require.NoError(t, err)
	f.role, err = f.m.CreateRole(f.ctx, users.Role{Name: "Member"})
	require.NoError(t, err)
	hopts := []httpapi.Option{httpapi.WithLogger(slog.New(slog.NewTextHandler(f.logs, nil)))}
	if !fc.noAuth {
		hopts = append(hopts, httpapi.WithAuthorizer(httpapi.BearerToken(adminToken)))
	}
	f.h = httpapi.New(f.m, append(hopts, fc.handler...)...)
	t.Cleanup(func() {
		// Nothing secret is ever logged.
		assert.NotContains(t, f.logs.String(), password)
		assert.NotContains(t, f.logs.String(), hashPrefix)
	})
	return f
}

// settings changes the settings through the Manager.
func (f *fixture) settings(change func(*users.Settings)) {
	f.t.Helper()
	s, err := f.m.Settings(f.ctx)
	require.NoError(f.t, err)
	change(&s)
	_, err = f.m.UpdateSettings(f.ctx, s)
	require.NoError(f.t, err)
}

// openRegistration turns public registration on, with the fixture's role.
func (f *fixture) openRegistration(verify bool) {
	f.settings(func(s *users.Settings) {
		s.PublicRegistration = true
		s.PublicRegistrationVerifyEmail = verify
		s.PublicRegistrationRole = &f.role.ID
	})
}

// request builds a request; a non-empty body is sent as application/json.
func request(method, target, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// serve runs r through the handler and checks what every answer must hold.
func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	body := w.Body.String()
	assert.NotContains(f.t, body, hashPrefix, "a response holds a password hash")
	assert.NotContains(f.t, body, password, "a response holds a password")
	assert.Equal(f.t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(f.t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	if w.Code == http.StatusNoContent || w.Code == http.StatusFound {
		assert.Empty(f.t, body)
	} else {
		assert.Equal(f.t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
		assert.True(f.t, json.Valid(w.Body.Bytes()), "body is not JSON: %s", body)
	}
	return w
}

// do sends a public request.
func (f *fixture) do(method, target, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.serve(request(method, target, body))
}

// admin sends a request with the admin bearer token.
func (f *fixture) admin(method, target, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := request(method, target, body)
	r.Header.Set("Authorization", "Bearer "+adminToken)
	return f.serve(r)
}

// wantError checks the exact Directus error envelope. An empty msg skips
// the message.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code, msg string) {
	t.Helper()
	require.Equal(t, status, w.Code, "body: %s", w.Body.String())
	var env struct {
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&env), "body: %s", w.Body.String())
	require.Len(t, env.Errors, 1)
	ext := env.Errors[0].Extensions
	if code == "REQUESTS_EXCEEDED" {
		// Directus adds the limit and its reset time; both or neither.
		_, hasLimit := ext["limit"]
		_, hasReset := ext["reset"]
		assert.Equal(t, hasLimit, hasReset, "limit and reset go together")
		ext = map[string]any{"code": ext["code"]}
	}
	switch code {
	case "FAILED_VALIDATION":
		// Directus names the field and the rule it broke.
		assert.IsType(t, "", ext["field"], "FAILED_VALIDATION without extensions.field")
		assert.IsType(t, "", ext["type"], "FAILED_VALIDATION without extensions.type")
		ext = without(ext, "field", "type")
	case "RECORD_NOT_UNIQUE":
		// Directus names the collection and the field.
		assert.IsType(t, "", ext["collection"], "RECORD_NOT_UNIQUE without extensions.collection")
		assert.IsType(t, "", ext["field"], "RECORD_NOT_UNIQUE without extensions.field")
		ext = without(ext, "collection", "field")
	}
	assert.Equal(t, map[string]any{"code": code}, ext)
	if msg != "" {
		assert.Equal(t, msg, env.Errors[0].Message)
	}
	assert.NotEmpty(t, env.Errors[0].Message)
	// The exact shape, key for key.
	want, err := json.Marshal(map[string]any{"errors": []any{map[string]any{
		"message": env.Errors[0].Message, "extensions": env.Errors[0].Extensions}}})
	require.NoError(t, err)
	assert.JSONEq(t, string(want), w.Body.String())
}

// without returns a copy of m without the keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// extensions decodes the extensions of an error envelope's one error.
func extensions(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var env struct {
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &env), "body: %s", w.Body.String())
	require.Len(t, env.Errors, 1)
	return env.Errors[0].Extensions
}

// wantFailed checks a FAILED_VALIDATION answer as Directus gives it: the
// field, the rule (type) and Directus's message for them.
func wantFailed(t *testing.T, w *httptest.ResponseRecorder, field, typ, msg string) {
	t.Helper()
	wantError(t, w, http.StatusBadRequest, "FAILED_VALIDATION", msg)
	assert.Equal(t, map[string]any{"code": "FAILED_VALIDATION", "field": field, "type": typ}, extensions(t, w))
}

// data decodes {"data": …} into *v (zeroed first), refusing other
// top-level keys.
func data(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
	var env map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &env))
	require.Len(t, env, 1, "body: %s", w.Body.String())
	raw, ok := env["data"]
	require.True(t, ok, "no data key: %s", w.Body.String())
	reflect.ValueOf(v).Elem().SetZero() // nothing left over from an earlier call
	require.NoError(t, json.Unmarshal(raw, v))
}

// wireUser is a user as the API shows it.
type wireUser struct {
	ID        string         `json:"id"`
	Email     *string        `json:"email"`
	Password  *string        `json:"password"`
	FirstName *string        `json:"first_name"`
	LastName  *string        `json:"last_name"`
	Status    string         `json:"status"`
	Role      *string        `json:"role"`
	Policies  []string       `json:"policies"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// snapshot is everything the store holds that a request could change
// (tokens are covered by the mail outbox: every token is mailed).
func (f *fixture) snapshot() string {
	f.t.Helper()
	us, err := f.mem.ListUsers(f.ctx, store.UserQuery{})
	require.NoError(f.t, err)
	rs, err := f.mem.ListRoles(f.ctx)
	require.NoError(f.t, err)
	s, err := f.mem.Settings(f.ctx)
	require.NoError(f.t, err)
	ms, err := f.mem.ListMail(f.ctx, store.MailQuery{})
	require.NoError(f.t, err)
	b, err := json.Marshal(map[string]any{"users": us, "roles": rs, "settings": string(s), "mail": ms})
	require.NoError(f.t, err)
	return string(b)
}

// deliver sends the pending mail and returns the last message to addr.
// Pending mails are sent concurrently, so deliver after each step when the
// order matters.
func (f *fixture) deliver(addr string) users.Message {
	f.t.Helper()
	_, err := f.m.DeliverPending(f.ctx)
	require.NoError(f.t, err)
	msgs := f.mail.To(addr)
	require.NotEmpty(f.t, msgs, "no mail to %s", addr)
	return msgs[len(msgs)-1]
}

// user returns the stored user with the email.
func (f *fixture) user(email string) *store.User {
	f.t.Helper()
	u, err := f.mem.GetUserByEmailKey(f.ctx, users.NormalizeEmail(email))
	require.NoError(f.t, err)
	return u
}

// create creates a user through the Manager.
func (f *fixture) create(in users.CreateUserInput) *users.User {
	f.t.Helper()
	u, err := f.m.CreateUser(f.ctx, in)
	require.NoError(f.t, err)
	return u
}

func ptr[T any](v T) *T { return &v }

// jsonString encodes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// errMessage returns the message of an error envelope.
func errMessage(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var env struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &env))
	require.NotEmpty(t, env.Errors)
	return env.Errors[0].Message
}

// limits returns users.DefaultLimits with change applied: a test sets the
// limits it is about and keeps the others. One default differs: no
// RequestStall, which would make every password reset request and resend
// sleep 250 ms; TestPasswordResetRequestStallsByDefault checks the stall.
func limits(change func(*users.Limits)) users.Limits {
	l := users.DefaultLimits()
	l.RequestStall = 0
	change(&l)
	return l
}

// clockLimits puts the memory limiters of l on now, as users.New does
// with the limits it picks when none are given.
func clockLimits(l users.Limits, now func() time.Time) users.Limits {
	for _, lim := range []users.Limiter{l.Mail, l.AdminMail, l.Login, l.LoginIP, l.Device} {
		if ml, ok := lim.(*users.MemoryLimiter); ok {
			ml.Now = now
		}
	}
	return l
}
