package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/gousers/users"
)

// handler serves the routes of the package doc.
type handler struct {
	m   *users.Manager
	cfg config
	mux *http.ServeMux
	// bufs holds *[]byte answer buffers between requests (see writeJSON):
	// a page of users is tens of kilobytes.
	bufs sync.Pool
}

// New returns an http.Handler serving m in the Directus wire format on the
// routes listed in the package doc. Mount it at the root of a mux, or under a
// prefix with http.StripPrefix. It panics when m is nil or an option is
// invalid (a programming error, as http.ServeMux panics on a bad pattern).
func New(m *users.Manager, opts ...Option) http.Handler {
	if m == nil {
		panic("httpapi: New: nil *users.Manager")
	}
	h := newHandlerConfig(m, opts)
	h.mux = http.NewServeMux()
	public := map[string]http.HandlerFunc{
		"POST /users/register":             h.register,
		"GET /users/register/verify-email": h.verifyEmail,
		// A link scanner's HEAD must not consume a verification token.
		"HEAD /users/register/verify-email": h.notFound,
		"POST /users/invite/accept":         h.acceptInvite,
		"POST /users/register/resend":       h.resendVerification,
		"POST /auth/login":                  h.login,
		"POST /auth/refresh":                h.refresh,
		"POST /auth/logout":                 h.logout,
		"POST /auth/password/request":       h.passwordRequest,
		"POST /auth/password/reset":         h.passwordReset,
		"/":                                 h.notFound,
	}
	// The caller's own user: an access token is required, and is the limit.
	h.mux.HandleFunc("GET /users/me", h.me)
	h.mux.HandleFunc("PATCH /users/me", h.updateMe)
	admin := map[string]http.HandlerFunc{
		"POST /users/invite": h.invite,
		"POST /users":        h.createUser,
		"GET /users":         h.listUsers,
		"PATCH /users":       h.updateUsers,
		"GET /users/{id}":    h.getUser,
		"PATCH /users/{id}":  h.updateUser,
		"DELETE /users":      h.deleteUsers,
		"DELETE /users/{id}": h.deleteUser,
		"GET /roles":         h.listRoles,
		"POST /roles":        h.createRole,
		"GET /settings":      h.getSettings,
		"PATCH /settings":    h.updateSettings,
		"GET /activity":      h.listActivity,
		"GET /activity/{id}": h.getActivity,
	}
	for p, f := range public {
		if p == "POST /users/register" || p == "POST /users/register/resend" {
			f = h.limitedBy(h.cfg.registerLimit, f)
		}
		if p != "/" {
			f = h.limitedBy(h.cfg.limiter, f)
		}
		h.mux.HandleFunc(p, f)
	}
	for p, f := range admin {
		h.mux.HandleFunc(p, h.admin(f))
	}
	// The flows' own paths are not user ids: another method on them is an
	// unknown route, for anyone. (Directus matches GET /users/:pk with
	// "register" as the id, and answers 403 as for a user the caller may
	// not see; our user ids are UUIDs, so this cannot hide one.)
	for _, p := range []string{"/users/register", "/users/invite"} {
		for _, method := range []string{"GET", "PATCH", "DELETE"} {
			h.mux.HandleFunc(method+" "+p, h.notFound)
		}
	}
	h.tfaRoutes()
	h.serverRoutes()
	return h
}

// newHandlerConfig applies opts to the defaults and checks them (it panics
// on an invalid one); the handler it returns has no routes.
func newHandlerConfig(m *users.Manager, opts []Option) *handler {
	c := config{
		authorize: func(*http.Request) bool { return false },
		maxBody:   DefaultMaxBodyBytes,
		log:       slog.Default(),
	}
	for _, o := range opts {
		o(&c)
	}
	c.trusted = append([]netip.Prefix(nil), c.trusted...) // never the caller's array
	for i, p := range c.trusted {
		if !p.IsValid() {
			panic(fmt.Sprintf("httpapi: WithTrustedProxies: invalid prefix %v", p))
		}
		c.trusted[i] = p.Masked()
	}
	if c.verifyRedirect != "" {
		if err := checkRedirect(c.verifyRedirect); err != nil {
			panic("httpapi: WithVerifyRedirect: " + err.Error())
		}
	}
	checkCookie("WithRefreshCookie", &c.refreshCookie, DefaultRefreshCookieName)
	checkCookie("WithSessionCookie", &c.sessionCookie, DefaultSessionCookieName)
	checkCookie("WithDeviceCookie", &c.deviceCookie, DefaultDeviceCookieName)

	return &handler{m: m, cfg: c}
}

// ServeHTTP sets the headers every answer carries, then routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// As Header.Set sets them (the keys are canonical), from one
	// allocation: each value is a slice of its own, with no room to grow
	// into the next.
	vals := []string{"no-store", "nosniff", "no-referrer"}
	hdr := w.Header()
	hdr["Cache-Control"] = vals[0:1:1]
	hdr["X-Content-Type-Options"] = vals[1:2:2]
	hdr["Referrer-Policy"] = vals[2:3:3]
	ri := h.requestInfo(r)
	ctx := context.WithValue(users.WithRequest(r.Context(), ri), requestInfoKey{}, ri)
	inner := r.WithContext(ctx)
	h.mux.ServeHTTP(w, inner)
	// The route that served the request ("POST /users/register"), for the
	// caller's logs and metrics, as a ServeMux leaves it on the request.
	r.Pattern = inner.Pattern
}

type requestInfoKey struct{}

// requestInfo is what the Manager records about r in its events: the
// client's address (ClientIP), User-Agent and Origin, and the request's id
// — the X-Request-Id header when it is a sane one (1 to 128 printable
// ASCII characters), else a new random id. A RequestInfo already in r's
// context (set by a wrapping handler) keeps its Actor.
func (h *handler) requestInfo(r *http.Request) users.RequestInfo {
	ri := users.RequestInfo{UserAgent: r.UserAgent(), Origin: r.Header.Get("Origin"), ID: r.Header.Get("X-Request-Id")}
	if ip := ClientIP(r, h.cfg.trusted); ip.IsValid() {
		ri.IP = ip.String()
	}
	if !saneRequestID(ri.ID) {
		ri.ID = newRequestID()
	}
	return ri
}

// requestIDs hands out random bytes for request ids from a buffer
// refilled from crypto/rand, so that a request does not ask the kernel for
// 16 bytes of its own.
var requestIDs struct {
	mu  sync.Mutex
	buf [4096]byte
	off int // bytes of buf handed out; len(buf): refill first
}

func init() { requestIDs.off = len(requestIDs.buf) }

// newRequestID returns a random (version 4) UUID.
func newRequestID() string {
	var u uuid.UUID
	requestIDs.mu.Lock()
	if requestIDs.off+len(u) > len(requestIDs.buf) {
		if _, err := rand.Read(requestIDs.buf[:]); err != nil {
			requestIDs.mu.Unlock()
			return uuid.NewString() // crypto/rand does not fail on Linux; just in case
		}
		requestIDs.off = 0
	}
	copy(u[:], requestIDs.buf[requestIDs.off:])
	clear(requestIDs.buf[requestIDs.off : requestIDs.off+len(u)]) // handed out once
	requestIDs.off += len(u)
	requestIDs.mu.Unlock()
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// asActor returns r with the user id as the actor of its events.
func asActor(r *http.Request, userID string) *http.Request {
	ri, _ := r.Context().Value(requestInfoKey{}).(users.RequestInfo)
	ri.Actor = userID
	ctx := context.WithValue(users.WithRequest(r.Context(), ri), requestInfoKey{}, ri)
	return r.WithContext(ctx)
}

// limitedBy asks the rate limiter l, if any, before anything else.
func (h *handler) limitedBy(l users.Limiter, f http.HandlerFunc) http.HandlerFunc {
	if l == nil {
		return f
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := l.Allow(r.Context(), ClientIP(r, h.cfg.trusted).String()); err != nil {
			h.writeError(w, r, err)
			return
		}
		f(w, r)
	}
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, errRouteNotFound)
}

// checkRedirect accepts an absolute http(s) URL without userinfo, or an
// absolute path that is not protocol-relative.
func checkRedirect(s string) error {
	if strings.ContainsAny(s, "\\\r\n\t") {
		return fmt.Errorf("%q must not contain backslashes or control characters", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		if u.Host == "" || u.User != nil {
			return fmt.Errorf("%q must have a host and no userinfo", s)
		}
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
	default:
		return fmt.Errorf("%q must be an absolute http(s) URL or an absolute path", s)
	}
	return nil
}
