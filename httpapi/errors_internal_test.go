package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

// TestWriteError pins the one mapping from errors to statuses, codes and
// messages, for each sentinel as the Manager returns it (wrapped).
func TestWriteError(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("users: op: %w", err) }
	cases := []struct {
		name       string
		err        error
		status     int
		code, msg  string
		retryAfter string
		logged     bool
	}{
		{"route", errRouteNotFound, 404, "ROUTE_NOT_FOUND", "Route /x doesn't exist.", "", false},
		{"query", badQuery("unknown query parameter %q", "sort"), 400, "INVALID_QUERY", `Invalid query. unknown query parameter "sort".`, "", false},
		{"rate limited", wrap(&users.RateLimitError{Limit: 5, Window: time.Hour, RetryAfter: 1500 * time.Millisecond}), 429, "REQUESTS_EXCEEDED", "Too many requests, retry after 2s.", "2", false},
		{"rate limited, no delay", wrap(users.ErrRateLimited), 429, "REQUESTS_EXCEEDED", "Too many requests, retry after 60s.", "60", false},
		{"busy", wrap(users.ErrBusy), 503, "SERVICE_UNAVAILABLE", `Service "users" is unavailable. Too many requests in progress, try again later.`, "1", false},
		{"credentials", wrap(users.ErrInvalidCredentials), 401, "INVALID_CREDENTIALS", "Invalid user credentials.", "", false},
		{"expired", wrap(users.ErrTokenExpired), 401, "TOKEN_EXPIRED", "Token expired.", "", false},
		{"used", wrap(users.ErrTokenUsed), 403, "INVALID_TOKEN", "Invalid token.", "", false},
		{"invalid token", wrap(users.ErrInvalidToken), 403, "INVALID_TOKEN", "Invalid token.", "", false},
		{"duplicate", wrap(users.ErrDuplicateEmail), 400, "RECORD_NOT_UNIQUE", `Value for field "email" in collection "directus_users" has to be unique.`, "", false},
		{"forbidden", users.ErrForbidden, 403, "FORBIDDEN", "You don't have permission to access this.", "", false},
		{"registration off", wrap(users.ErrRegistrationDisabled), 403, "FORBIDDEN", "You don't have permission to access this.", "", false},
		{"email filter", wrap(users.ErrEmailNotAllowed), 403, "FORBIDDEN", "You don't have permission to access this.", "", false},
		{"no such user", wrap(users.ErrUserNotFound), 403, "FORBIDDEN", "You don't have permission to access this.", "", false},
		{"failed validation", wrap(&users.ValidationError{Field: "email", Reason: "must be a valid email address", Err: users.ErrFailedValidation}), 400, "FAILED_VALIDATION", `Validation failed for field "email". Value has to be a valid email address.`, "", false},
		{"failed validation, other field", wrap(&users.ValidationError{Field: "first_name", Reason: "must be visible text", Err: users.ErrFailedValidation}), 400, "FAILED_VALIDATION", `Validation failed for field "first_name". Value doesn't have the correct format.`, "", false},
		{"duplicate id", wrap(users.ErrDuplicateID), 400, "RECORD_NOT_UNIQUE", `Value for field "id" in collection "directus_roles" has to be unique.`, "", false},
		{"failed validation, bare", wrap(users.ErrFailedValidation), 400, "FAILED_VALIDATION", "Validation failed.", "", false},
		{"invalid payload", wrap(&users.ValidationError{Field: "role", Reason: "is not allowed"}), 400, "INVALID_PAYLOAD", `Invalid payload. "role" is not allowed.`, "", false},
		{"whole message", &users.ValidationError{Reason: "Malformed JSON."}, 400, "INVALID_PAYLOAD", "Invalid payload. Malformed JSON.", "", false},
		{"role not found, bare", wrap(users.ErrRoleNotFound), 400, "INVALID_PAYLOAD", `Invalid payload. "role" names no role.`, "", false},
		{"policy not found, bare", wrap(users.ErrPolicyNotFound), 400, "INVALID_PAYLOAD", `Invalid payload. "policies" names no policy.`, "", false},
		{"invalid payload, bare", wrap(users.ErrInvalidPayload), 400, "INVALID_PAYLOAD", "Invalid payload.", "", false},
		{"url not allowed, bare", wrap(users.ErrURLNotAllowed), 400, "INVALID_PAYLOAD", "Invalid payload.", "", false},
		{"unknown", errors.New("pq: password authentication failed for user app"), 500, "INTERNAL_SERVER_ERROR", "An unexpected error occurred.", "", true},
		{"conflict leaking out", wrap(store.ErrConflict), 500, "INTERNAL_SERVER_ERROR", "An unexpected error occurred.", "", true},
		{"deadline", wrap(context.DeadlineExceeded), 500, "INTERNAL_SERVER_ERROR", "An unexpected error occurred.", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := &handler{cfg: config{log: slog.New(slog.NewTextHandler(&logs, nil))}}
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/x?token=secret-token", nil)
			h.writeError(w, r, c.err)
			require.Equal(t, c.status, w.Code)
			ext := errorExt{Code: c.code}
			// Directus's extensions of FAILED_VALIDATION and RECORD_NOT_UNIQUE.
			switch c.name {
			case "failed validation":
				ext.Field, ext.Type = "email", "email"
			case "failed validation, other field":
				ext.Field, ext.Type = "first_name", "regex"
			case "duplicate":
				ext.Collection, ext.Field = "directus_users", "email"
			case "duplicate id":
				ext.Collection, ext.Field = "directus_roles", "id"
			}
			var re *users.RateLimitError
			if errors.As(c.err, &re) {
				// Directus's extensions: the limit and when it resets.
				var got errorBody
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
				require.NotNil(t, got.Errors[0].Extensions.Limit)
				require.NotNil(t, got.Errors[0].Extensions.Reset)
				assert.Equal(t, re.Limit, *got.Errors[0].Extensions.Limit)
				assert.WithinDuration(t, time.Now().Add(re.RetryAfter), *got.Errors[0].Extensions.Reset, 5*time.Second)
				ext.Limit, ext.Reset = got.Errors[0].Extensions.Limit, got.Errors[0].Extensions.Reset
			}
			want, err := json.Marshal(errorBody{Errors: []errorItem{{Message: c.msg, Extensions: ext}}})
			require.NoError(t, err)
			assert.Equal(t, string(want), w.Body.String())
			assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
			assert.Equal(t, c.retryAfter, w.Header().Get("Retry-After"))
			if c.logged {
				assert.Contains(t, logs.String(), c.err.Error())
				assert.NotContains(t, logs.String(), "secret-token", "the query is never logged")
			} else {
				assert.Empty(t, logs.String())
			}
		})
	}
}

// TestWriteErrorClientGone: a request the client abandoned is not logged.
func TestWriteErrorClientGone(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := &handler{cfg: config{log: slog.New(slog.NewTextHandler(&logs, nil))}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", "/users", nil)
	w := httptest.NewRecorder()
	h.writeError(w, r, fmt.Errorf("users: list users: %w", context.Canceled))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Empty(t, logs.String())
}

// TestErrorEnvelopeBytes: the error envelope is appended by hand; its
// bytes are those json.Marshal gives for the errorBody, whatever the
// message and the extensions hold (HTML characters, control characters,
// U+2028, invalid UTF-8, the rate limit's limit and reset).
func TestErrorEnvelopeBytes(t *testing.T) {
	t.Parallel()
	limit, reset := 5, time.Date(2026, 12, 8, 3, 4, 5, 678000000, time.UTC)
	zero, far := 0, time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, it := range []errorItem{
		{Message: "Invalid token.", Extensions: errorExt{Code: codeInvalidToken}},
		{Message: `Route /a<b>&"c"\d doesn't exist.`, Extensions: errorExt{Code: codeRouteNotFound}},
		{Message: "tab\there, nul\x00, bell\x07, line\u2028sep\u2029, é, \xff\xfe", Extensions: errorExt{Code: codeInvalidPayload}},
		{Message: "Validation failed.", Extensions: errorExt{Code: codeFailedValidation, Field: "fïeld<", Type: "regex"}},
		{Message: "dup", Extensions: errorExt{Code: codeRecordNotUnique, Collection: "directus_users", Field: "email"}},
		{Message: "Too many requests, retry after 2s.", Extensions: errorExt{Code: codeRequestsExceeded, Limit: &limit, Reset: &reset}},
		{Message: "zero", Extensions: errorExt{Code: codeRequestsExceeded, Limit: &zero, Reset: &time.Time{}}},
		{Message: "", Extensions: errorExt{}},
	} {
		want, err := json.Marshal(errorBody{Errors: []errorItem{it}})
		require.NoError(t, err)
		h := &handler{cfg: config{log: slog.New(slog.DiscardHandler)}}
		w := httptest.NewRecorder()
		h.writeErrorItem(w, http.StatusBadRequest, &it)
		assert.Equal(t, string(want), w.Body.String())
		assert.Equal(t, strconv.Itoa(len(want)), w.Header().Get("Content-Length"))
	}
	// A time json.Marshal cannot encode is a bug, answered 500.
	var logs bytes.Buffer
	h := &handler{cfg: config{log: slog.New(slog.NewTextHandler(&logs, nil))}}
	w := httptest.NewRecorder()
	h.writeErrorItem(w, http.StatusTooManyRequests, &errorItem{Message: "m", Extensions: errorExt{Code: codeRequestsExceeded, Reset: &far}})
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"errors":[{"message":"An unexpected error occurred.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`, w.Body.String())
	assert.Contains(t, logs.String(), "encoding a response")
}
