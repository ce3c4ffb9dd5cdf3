package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/echo"
)

// Directus error codes (extensions.code).
const (
	codeForbidden          = "FORBIDDEN"
	codeInvalidPayload     = "INVALID_PAYLOAD"
	codeInvalidQuery       = "INVALID_QUERY"
	codeRecordNotUnique    = "RECORD_NOT_UNIQUE"
	codeFailedValidation   = "FAILED_VALIDATION"
	codeInvalidToken       = "INVALID_TOKEN"
	codeTokenExpired       = "TOKEN_EXPIRED"
	codeInvalidCredentials = "INVALID_CREDENTIALS"
	codeInvalidOTP         = "INVALID_OTP"
	codeRequestsExceeded   = "REQUESTS_EXCEEDED"
	codeServiceUnavailable = "SERVICE_UNAVAILABLE"
	codeRouteNotFound      = "ROUTE_NOT_FOUND"
	codeInternal           = "INTERNAL_SERVER_ERROR"
)

// busyRetryAfter is the Retry-After of a 503 for a users.ErrBusy that
// does not estimate the wait (a *users.BusyError does).
const busyRetryAfter = time.Second

// errRouteNotFound answers a method and path that match no route.
var errRouteNotFound = errors.New("httpapi: route not found")

// queryError is a bad query-string parameter (400 INVALID_QUERY).
type queryError struct{ msg string }

func (e *queryError) Error() string { return "httpapi: invalid query: " + e.msg }

// badQuery builds a queryError; string arguments (the caller's input) are
// cut to echo.Max characters.
func badQuery(format string, args ...any) error {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = echo.Cut(s)
		}
	}
	return &queryError{msg: fmt.Sprintf(format, args...)}
}

// defaultRetryAfter is the Retry-After of a 429 whose error does not say
// when to retry (a bare users.ErrRateLimited).
const defaultRetryAfter = time.Minute

// writeError answers err in the Directus error envelope
// {"errors":[{"message":…,"extensions":{"code":…}}]}. It is the one place
// where errors become statuses and codes. Messages are built from the
// sentinels and from users.ValidationError.Message, which never hold a
// password, a token or a hash; anything unexpected is logged and answered
// with a generic 500.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusInternalServerError, codeInternal, "An unexpected error occurred."
	var ext errorExt
	// errors.AsType, unlike errors.As, needs no target that escapes to the
	// heap: a refusal is answered without an allocation for each kind of
	// error it might be.
	qe, isQuery := errors.AsType[*queryError](err)
	switch {
	case errors.Is(err, errRouteNotFound):
		status, code, msg = http.StatusNotFound, codeRouteNotFound, "Route "+echo.Cut(r.URL.Path)+" doesn't exist."
	case isQuery:
		status, code, msg = http.StatusBadRequest, codeInvalidQuery, "Invalid query. "+sentence(qe.msg)
	case errors.Is(err, users.ErrInvalidQuery):
		status, code, msg = http.StatusBadRequest, codeInvalidQuery, "Invalid query."
		if ve, ok := errors.AsType[*users.ValidationError](err); ok {
			msg = "Invalid query. " + sentence(ve.Message())
		}
	case errors.Is(err, users.ErrRateLimited):
		wait := defaultRetryAfter
		re, _ := errors.AsType[*users.RateLimitError](err)
		if re != nil {
			wait = re.RetryAfter
		}
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if re != nil {
			// Directus's extensions: the limit, and when it resets.
			limit, reset := re.Limit, time.Now().Add(wait).UTC().Truncate(time.Millisecond)
			ext.Limit, ext.Reset = &limit, &reset
		}
		status, code, msg = http.StatusTooManyRequests, codeRequestsExceeded, fmt.Sprintf("Too many requests, retry after %ds.", secs)
	case errors.Is(err, users.ErrBusy):
		// The estimate of the wait (the calls already queued), so that a
		// shed client comes back when it may be served.
		wait := busyRetryAfter
		if be, ok := errors.AsType[*users.BusyError](err); ok {
			wait = be.RetryAfter
		}
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		status, code, msg = http.StatusServiceUnavailable, codeServiceUnavailable, `Service "users" is unavailable. Too many requests in progress, try again later.`
	case errors.Is(err, users.ErrInvalidOTP):
		status, code, msg = http.StatusUnauthorized, codeInvalidOTP, "Invalid user OTP."
	case errors.Is(err, users.ErrInvalidCredentials):
		status, code, msg = http.StatusUnauthorized, codeInvalidCredentials, "Invalid user credentials."
	case errors.Is(err, users.ErrTokenExpired):
		status, code, msg = http.StatusUnauthorized, codeTokenExpired, "Token expired."
	case errors.Is(err, users.ErrInvalidToken):
		status, code, msg = http.StatusForbidden, codeInvalidToken, "Invalid token."
	case errors.Is(err, users.ErrDuplicateEmail):
		status, code, msg = http.StatusBadRequest, codeRecordNotUnique, `Value for field "email" in collection "directus_users" has to be unique.`
		ext.Collection, ext.Field = "directus_users", "email"
	case errors.Is(err, users.ErrDuplicateID):
		// Roles are the records created by id over HTTP.
		status, code, msg = http.StatusBadRequest, codeRecordNotUnique, `Value for field "id" in collection "directus_roles" has to be unique.`
		ext.Collection, ext.Field = "directus_roles", "id"
	case errors.Is(err, users.ErrTwoFactorRequired):
		status, code, msg = http.StatusForbidden, codeForbidden, "You don't have permission to access this. Set up two-factor sign-in first."
	case errors.Is(err, users.ErrForbidden):
		// Registration off, email filter, unknown user id, authorizer
		// refusal: one answer, as Directus gives.
		status, code, msg = http.StatusForbidden, codeForbidden, "You don't have permission to access this."
	case errors.Is(err, users.ErrFailedValidation):
		status, code, msg = http.StatusBadRequest, codeFailedValidation, "Validation failed."
		if ve, ok := errors.AsType[*users.ValidationError](err); ok && ve.Field != "" {
			ext.Field, ext.Type = echo.Cut(ve.Field), failedType(ve.Field)
			msg = failedMessage(ext.Field, ext.Type)
		}
	case errors.Is(err, users.ErrInvalidPayload):
		status, code, msg = http.StatusBadRequest, codeInvalidPayload, "Invalid payload."
		ve, isValidation := errors.AsType[*users.ValidationError](err)
		switch {
		case isValidation:
			msg = "Invalid payload. " + sentence(ve.Message())
		case errors.Is(err, users.ErrRoleNotFound):
			msg = `Invalid payload. "role" names no role.`
		case errors.Is(err, users.ErrPolicyNotFound):
			msg = `Invalid payload. "policies" names no policy.`
		case errors.Is(err, users.ErrLastAdmin):
			msg = "Invalid payload. The last active user with admin access can't be removed."
		}
	default:
		if !(errors.Is(err, context.Canceled) && r.Context().Err() != nil) { // else the client left
			h.cfg.log.ErrorContext(r.Context(), "httpapi: unexpected error",
				"method", r.Method, "path", r.URL.Path,
				"client_ip", ClientIP(r, h.cfg.trusted).String(), "error", err.Error())
		}
	}
	ext.Code = code
	h.writeErrorItem(w, status, &errorItem{Message: msg, Extensions: ext})
}

type errorBody struct {
	Errors []errorItem `json:"errors"`
}

type errorItem struct {
	Message    string   `json:"message"`
	Extensions errorExt `json:"extensions"`
}

type errorExt struct {
	Code string `json:"code"`
	// FAILED_VALIDATION: the field at fault and the rule it broke;
	// RECORD_NOT_UNIQUE: the collection and the field.
	Collection string     `json:"collection,omitempty"`
	Field      string     `json:"field,omitempty"`
	Type       string     `json:"type,omitempty"`
	Limit      *int       `json:"limit,omitempty"` // REQUESTS_EXCEEDED: events per window
	Reset      *time.Time `json:"reset,omitempty"` // REQUESTS_EXCEEDED: when the next is allowed
}

// appendJSON appends the item's JSON, as json.Marshal encodes it.
func (it *errorItem) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"message":`...)
	b = appendJSONString(b, it.Message)
	x := &it.Extensions
	b = appendJSONString(append(b, `,"extensions":{"code":`...), x.Code)
	if x.Collection != "" {
		b = appendJSONString(append(b, `,"collection":`...), x.Collection)
	}
	if x.Field != "" {
		b = appendJSONString(append(b, `,"field":`...), x.Field)
	}
	if x.Type != "" {
		b = appendJSONString(append(b, `,"type":`...), x.Type)
	}
	if x.Limit != nil {
		b = strconv.AppendInt(append(b, `,"limit":`...), int64(*x.Limit), 10)
	}
	if x.Reset != nil {
		var err error
		if b, err = appendTime(append(b, `,"reset":`...), *x.Reset); err != nil {
			return nil, err
		}
	}
	return append(b, "}}"...), nil
}

// failedType is the rule a field's FAILED_VALIDATION broke, named as
// Directus names it (extensions.type): "email" for an address, "regex"
// (a value of the wrong format) for anything else.
func failedType(field string) string {
	if field == "email" {
		return "email"
	}
	return "regex"
}

// failedMessage is Directus's message of a FAILED_VALIDATION error.
func failedMessage(field, typ string) string {
	msg := fmt.Sprintf("Validation failed for field %q.", field)
	switch typ {
	case "email":
		return msg + " Value has to be a valid email address."
	case "regex":
		return msg + " Value doesn't have the correct format."
	}
	return msg
}

// sentence ends s with a full stop.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

// dataBody is the Directus success envelope.
type dataBody struct {
	Data any `json:"data"`
}

// maxPooledAnswer bounds the buffers writeJSON keeps for later answers
// (a page of 100 users is about 35 KiB).
const maxPooledAnswer = 64 << 10

// A jsonAppender appends its own JSON to a buffer (orderedObject,
// errorBody), so that writeJSON encodes it without reflection into a
// buffer of an earlier answer.
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, error)
}

// writeJSON writes v as the whole answer.
func (h *handler) writeJSON(w http.ResponseWriter, status int, v any) {
	o, ok := v.(jsonAppender)
	if !ok {
		b, err := json.Marshal(v)
		h.writeBody(w, status, b, err)
		return
	}
	// No second pass over the bytes, in a buffer of an earlier answer.
	bp := h.buffer()
	b, err := o.appendJSON((*bp)[:0])
	h.writeBody(w, status, b, err)
	h.release(bp, b)
}

// writeErrorItem writes the error envelope of one error,
// {"errors":[it]}, as the whole answer: the bytes json.Marshal gives for
// the errorBody, without its reflection (every refusal is answered with
// one).
func (h *handler) writeErrorItem(w http.ResponseWriter, status int, it *errorItem) {
	bp := h.buffer()
	b := append((*bp)[:0], `{"errors":[`...)
	b, err := it.appendJSON(b)
	b = append(b, "]}"...)
	h.writeBody(w, status, b, err)
	h.release(bp, b)
}

// buffer returns a buffer of an earlier answer (see release), or a new
// one.
func (h *handler) buffer() *[]byte {
	if bp, _ := h.bufs.Get().(*[]byte); bp != nil {
		return bp
	}
	return new([]byte)
}

// release keeps b, the bytes an answer was appended to in bp's buffer,
// for a later answer, unless it grew too big to keep.
func (h *handler) release(bp *[]byte, b []byte) {
	if cap(b) <= maxPooledAnswer {
		*bp = b[:0]
		h.bufs.Put(bp)
	}
}

// writeBody writes b, JSON, as the whole answer; err, when not nil, is a
// failure to encode it, answered 500.
func (h *handler) writeBody(w http.ResponseWriter, status int, b []byte, err error) {
	if err != nil {
		// Only our own types are encoded; this is a bug, not an input error.
		h.cfg.log.Error("httpapi: encoding a response", "error", err.Error())
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"An unexpected error occurred.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// noContent answers 204 with no body.
func noContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}
