// Package httpapi serves a [users.Manager] over net/http in the wire format
// of the Directus CMS, so that Directus clients (the official JavaScript SDK
// included) work against a Go host app. It is optional: the root package
// does not import it.
//
// # Mounting
//
// [New] returns an http.Handler whose routes sit at the root. Mount it as is,
// or under a prefix with http.StripPrefix:
//
//	mux.Handle("/api/", http.StripPrefix("/api", httpapi.New(m,
//		httpapi.WithAuthorizer(httpapi.BearerToken(adminToken)))))
//
// # Routes
//
// Public:
//
//	POST /users/register               {email, password, first_name?, last_name?, verification_url?}
//	                                   → 204, empty, on every path that passes validation (new or
//	                                     existing email alike: same status, headers and body)
//	GET  /users/register/verify-email?token=…
//	                                   → 204, or 302 to the WithVerifyRedirect URL
//	POST /users/invite/accept          {token, password} → 204
//	POST /auth/login                   {email, password, mode?: "json", otp?}
//	                                   → 200 {"data": user}, else 401 INVALID_CREDENTIALS
//
// Admin (the authorizer is asked first, before the body is read):
//
//	POST  /users/invite                {email: "a@x" | ["a@x", …], role, invite_url?} → 204
//	                                   (an address whose account was never verified is taken
//	                                   over by the invitation; counted in the log, never named)
//	POST  /users                       {email?, password?, first_name?, last_name?, status?,
//	                                    role?, policies?, metadata?} → 200 {"data": user}
//	GET   /users                       ?limit=&offset=&page=&filter= → 200 {"data": [user, …]}
//	GET   /users/{id}                  → 200 {"data": user}
//	PATCH /users/{id}                  same fields as POST /users → 200 {"data": user}
//	PATCH /users                       {keys: [id, …], data: {fields}} → 200 {"data": [user, …]}
//	GET   /roles                       → 200 {"data": [role, …]}
//	POST  /roles                       {id?, name, description?, admin_access?} → 200 {"data": role}
//	GET   /settings                    → 200 {"data": settings}
//	PATCH /settings                    {public_registration?, public_registration_verify_email?,
//	                                    public_registration_role?, public_registration_email_filter?,
//	                                    auth_password_policy?, auth_password_policy_description?}
//	                                   → 200 {"data": settings}
//
// Any other method and path is 404 ROUTE_NOT_FOUND — HEAD on the
// verify-email link included, so that a mail scanner probing the link does
// not consume the token, and GET, PATCH or DELETE on /users/register and
// /users/invite, which are no user ids (Directus routes them to
// /users/:pk and answers 403, as for a user the caller may not see).
//
// A user is {id, email, password, first_name, last_name, status, role,
// policies, metadata?, created_at, updated_at}: empty strings are null, and
// password is "**********" when the user has one, else null, as Directus
// shows it. No response ever holds a password, a token or a hash.
//
// In a user's fields, null clears email, password, first_name, last_name
// and role ("role": null leaves the user with public permissions only) and
// empties metadata; status and policies (an array of policy ids) cannot be
// null. PATCH /users cannot set email or password. PATCH /settings changes
// only the fields given; null clears the role, the filter, the policy and
// its description, and a new auth_password_policy given without
// auth_password_policy_description clears the description (it described
// the old policy).
//
// GET /users takes limit (default 100, -1 for all), offset, page (1-based),
// fields (ignored: every field is returned), and a filter with the
// conditions role _eq, role _null, id _eq and id _in, as JSON
// (filter={"role":{"_eq":"<id>"}}) or in brackets (filter[role][_eq]=<id>).
// Any other query parameter is 400 INVALID_QUERY.
//
// # Request bodies
//
// Bodies are read strictly. Each of these is 400 INVALID_PAYLOAD, and
// changes nothing:
//
//   - a Content-Type other than application/json or application/*+json
//     (a charset other than utf-8 included). Directus ignores such a body;
//     this package refuses it, since a browser sends text/plain and form
//     bodies cross-site without a CORS preflight;
//   - a body over WithMaxBodyBytes, not valid UTF-8, not one JSON object,
//     with a duplicate key, or with anything after the object;
//   - a field a route does not take, refused by name
//     (`Invalid payload. "role" is not allowed.`);
//   - a value of the wrong type: a null, a number, an array or an object
//     where a string belongs, and so on;
//   - a string holding U+FFFD (encoding/json turns a lone surrogate escape
//     into it, which would make two passwords one);
//   - an email holding a control character (CR, LF…) once the white space
//     around it is trimmed (" a@example.com\t" is a@example.com, as on every
//     flow of the Manager).
//
// Error messages give byte offsets, never the input; where a message names
// input (an unknown field, a URL, a path) it is cut to 64 characters. POST /users/register
// checks that registration is on before it reads the body, so a closed
// registration answers 403 FORBIDDEN whatever the body holds.
//
// # Errors
//
// Every error is {"errors":[{"message":"…","extensions":{"code":"…"}}]}:
//
//	400 INVALID_PAYLOAD       malformed or disallowed input, URL not on the allow-list, unknown role
//	400 FAILED_VALIDATION     a malformed field value of a user (POST/PATCH /users)
//	400 RECORD_NOT_UNIQUE     the email belongs to another user; the role id exists
//	400 INVALID_QUERY         a query parameter GET /users does not take
//	401 INVALID_CREDENTIALS   login failed, whatever the reason
//	401 TOKEN_EXPIRED         an expired verification or invite token
//	403 INVALID_TOKEN         a garbage, unknown, used or wrong-purpose token
//	403 FORBIDDEN             authorizer refusal, registration off, email filter, unknown user id
//	404 ROUTE_NOT_FOUND       no such route
//	429 REQUESTS_EXCEEDED     users.ErrRateLimited: the login limiter, WithRateLimiter, WithRegisterRateLimiter
//	                          (with Retry-After, and extensions limit and reset as Directus sends them)
//	503 SERVICE_UNAVAILABLE   users.ErrBusy: the hashing queue sheds the call (with Retry-After:
//	                          the estimated wait of the calls already queued, in seconds)
//	500 INTERNAL_SERVER_ERROR anything else: logged (WithLogger), answered generically
//
// An unknown user id is 403 FORBIDDEN, not 404, as Directus answers for
// items: the answer does not tell a missing user from a forbidden one.
//
// Every answer carries Cache-Control: no-store, X-Content-Type-Options:
// nosniff and Referrer-Policy: no-referrer.
//
// # Client IP
//
// [ClientIP] takes X-Forwarded-For into account only when the direct peer
// is a trusted proxy (WithTrustedProxies), so a client cannot choose its IP
// by sending the header. It keys the per-IP limit of the public routes
// (WithRateLimiter, off by default) and is logged with a 500.
//
// # Differences from Directus
//
// POST /auth/login answers the user, not access and refresh tokens: this
// package keeps no sessions, so a host app that needs them wraps the route
// or calls users.Manager.Authenticate itself. Only the fields listed above
// are taken (a Directus field such as "language" is refused by name, not
// silently dropped), policies are plain id arrays, and GET /users knows only
// the query parameters above. Bodies must be declared JSON (see above).
// An expired token is 401 TOKEN_EXPIRED, as Directus answers.
package httpapi
