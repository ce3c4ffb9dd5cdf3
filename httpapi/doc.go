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
// # Your own handlers
//
// [Authenticate] is middleware for the application's own routes: it finds
// who is calling (a bearer token, the session cookie, or the cookie of the
// console's sign-in pages, package webui) and puts the principal into the
// request's context, for [PrincipalFrom]. [RequireUser], [RequireAdmin] and
// [RequireRole] guard routes: a browser is sent to the sign-in page, an
// API call gets Directus's 401 or 403. Cookie-authenticated state changes
// from another origin are refused.
//
//	mux.Handle("GET /home", httpapi.RequireUser(http.HandlerFunc(home)))
//	srv := &http.Server{Handler: httpapi.Authenticate(m)(mux)}
//
// # Routes
//
// Public:
//
//	POST /users/register               {email, password, first_name?, last_name?, verification_url?}
//	                                   → 204, empty, on every path that passes validation (new or
//	                                     existing email alike: same status, headers and body)
//	POST /users/register/resend        {email, verification_url?}
//	                                   → 204, empty, on every path that passes validation
//	                                     (an extension of this package; see below)
//	GET  /users/register/verify-email?token=…
//	                                   → 204, or 302 to the WithVerifyRedirect URL
//	POST /users/invite/accept          {token, password} → 204
//	POST /auth/login                   {email, password, mode?: "json"|"cookie"|"session", otp?}
//	                                   → 200 {"data": {access_token, expires, refresh_token}} (json),
//	                                     {access_token, expires} + refresh cookie (cookie),
//	                                     {expires} + session cookie (session); else 401 INVALID_CREDENTIALS,
//	                                     or 401 INVALID_OTP for a user with a second factor whose otp is
//	                                     missing, wrong or already used
//	POST /auth/refresh                 {refresh_token?, mode?} → 200, new tokens in the mode's form
//	POST /auth/logout                  {refresh_token?, mode?} → 204
//	POST /auth/password/request        {email, reset_url?} → 204, whether or not the address has
//	                                     an account
//	POST /auth/password/reset          {token, password} → 204
//	GET  /server/ping                  → 200 "pong" (text/plain)
//	GET  /server/health                → 200 {"status": "ok"|"warn"}, 503 {"status": "error"}
//	                                     (application/health+json; administrators also get
//	                                     releaseId, serviceId and checks: see users.Manager.Health)
//
// The caller's own user (an access token is required: 401 INVALID_CREDENTIALS
// without one):
//
//	GET   /users/me                    ?fields= → 200 {"data": user}
//	PATCH /users/me                    ?fields= {first_name?, last_name?, email?, password?, current_password?}
//	                                   → 200 {"data": user}
//	POST  /users/me/tfa/generate       {password} → 200 {"data": {secret, otpauth_url}}
//	POST  /users/me/tfa/enable         {secret, otp} → 204 (secret: the one generate answered)
//	POST  /users/me/tfa/disable        {otp} → 204 (a TOTP code or a recovery code)
//
// A user whose role or policy enforces two-factor sign-in (enforce_tfa)
// and who has not set it up signs in as usual, but its access token is
// then good only for GET /users/me and the generate and enable routes
// above (and refresh and logout, which take none): every other route
// answers 403 FORBIDDEN until the second factor is on (see
// users.Principal.TwoFactorSetupRequired).
//
// Admin (asked first, before the body is read: the authorizer, then the
// request's access token, which must be an active user's with admin
// access):
//
//	POST  /users/invite                {email: "a@x" | ["a@x", …], role, invite_url?} → 204
//	                                   (an address whose account was never verified is taken
//	                                   over by the invitation; counted in the log, never named)
//	POST  /users                       ?fields= {email?, password?, first_name?, last_name?, status?,
//	                                    role?, policies?, metadata?} → 200 {"data": user}; an array of
//	                                   them → 200 {"data": [user, …]}, all or none (users.Manager.CreateUsers)
//	GET   /users                       ?filter=&search=&sort=&limit=&offset=&page=&fields=&meta=
//	                                   → 200 {"data": [user, …], "meta"?: {"total_count": n, "filter_count": n}}
//	GET   /users/{id}                  ?fields= → 200 {"data": user}
//	PATCH /users/{id}                  ?fields= same fields as POST /users → 200 {"data": user}
//	PATCH /users                       {keys: [id, …], data: {fields}} → 200 {"data": [user, …]}
//	DELETE /users/{id}                 → 204
//	DELETE /users                      [id, …] or {keys: [id, …]} → 204
//	POST  /users/{id}/tfa/disable      → 204: removes the user's second factor, no code needed
//	GET   /roles                       ?filter=&search=&sort=&limit=&offset=&page=&fields=&meta=
//	                                   → 200 {"data": [role, …], "meta"?: {…}}
//	POST  /roles                       {id?, name, description?, admin_access?, enforce_tfa?}
//	                                   → 200 {"data": role}
//	GET   /settings                    → 200 {"data": settings}
//	PATCH /settings                    {public_registration?, public_registration_verify_email?,
//	                                    public_registration_role?, public_registration_email_filter?,
//	                                    auth_password_policy?, auth_password_policy_description?,
//	                                    project_name?} → 200 {"data": settings}
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
// # Listing users
//
// GET /users takes Directus's query parameters, read as Directus reads
// them (every list may be comma-separated, repeated, or key[]= / key[0]=):
//
//   - filter: Directus's filter rules on id, email, first_name, last_name,
//     status and role (see users.ParseFilter for the operators), as JSON
//     (filter={"role":{"_null":true}}) or in brackets
//     (filter[email][_ends_with]=@example.com, filter[_or][0][status][_eq]=active,
//     filter[id][_in]=<id>,<id>). The string operators compare byte for byte,
//     the _i ones case-insensitively, on every store;
//   - search: users whose email, first_name or last_name contains it,
//     case-insensitively (at most 1 KiB);
//   - sort: fields among id, email, first_name, last_name, status, role,
//     created_at, updated_at, "-" before one for descending
//     (sort=-created_at,email); ties are broken by id. Default: created_at;
//   - limit (default 100, -1 for all), offset, page (1-based; with a limit
//     it sets the offset, as in Directus);
//   - fields: the fields of each user in the answer (fields=id,email; "*"
//     for all, the default);
//   - meta: total_count (every user), filter_count (the users the filter
//     and search select), or * for both, answered as
//     {"data": […], "meta": {"total_count": 2, "filter_count": 1}}.
//
// Filtering, sorting and paging are done by the store's own query.
//
// GET /roles takes the same parameters over a role's fields: filter on
// id, name and description (users.RoleQuery), search in name and
// description, sort on id, name, description and admin_access (default:
// name), fields among id, name, description and admin_access
// (users.RoleQuery); the Manager filters the roles, which are few.
//
// Any other parameter, an unknown field or operator, a value of the wrong type
// or a limit out of range is 400 INVALID_QUERY with a message that names
// it (`Invalid query. "filter" _or[1].email: unknown operator "_foo".`).
//
// # Deleting users
//
// DELETE /users/{id} and DELETE /users (an array of ids, or {"keys": […]})
// answer 204. A user's tokens, sessions and mail not yet sent go with it.
// Deletion is all or none: an unknown id among them (403 FORBIDDEN, as for
// GET /users/{id}) or a deletion that would leave no active user with admin
// access (400 INVALID_PAYLOAD) deletes nothing. Changes by PATCH that would
// leave no active administrator (a status, role or policy change) are
// refused the same way.
//
// # Resending the verification mail
//
// POST /users/register/resend is this package's extension (Directus has
// none): it mails the verification link of a registration still waiting
// for it (users.Manager.ResendVerification). It checks what POST
// /users/register checks — registration on (403 before the body is read),
// a well-formed email, verification_url on the allow-list, the email
// filter — then answers 204 with an empty body whatever the address: an
// account waiting for verification, another account, or none. The mail
// limit per address applies, and so do WithRateLimiter and
// WithRegisterRateLimiter.
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
// registration answers 403 FORBIDDEN whatever the body holds; only a
// hashing queue too full to take it answers first (503 SERVICE_UNAVAILABLE
// with Retry-After, users.Manager.HashBusy), so that a flood is shed
// without reading the store or the body.
//
// # Sessions
//
// Login answers what users.Manager.Login mints: an access token (a JWT,
// HS256, signed with the Manager's secret — Directus's SECRET — with
// Directus's claims, living ACCESS_TOKEN_TTL, 15 minutes by default) and
// an opaque refresh token (living REFRESH_TOKEN_TTL, 7 days, from its last
// use; each refresh rotates it, and a rotated token presented again ends
// its whole session). expires is the access token's lifetime in
// milliseconds. The three modes are Directus's:
//
//   - json: both tokens in the body.
//   - cookie: the access token in the body, the refresh token in an
//     HttpOnly cookie (WithRefreshCookie; directus_refresh_token).
//   - session: the access token in an HttpOnly cookie (WithSessionCookie;
//     directus_session_token) that the API reads; no refresh token leaves
//     the server. Refresh in this mode renews the cookie's access token
//     while the session lasts, and retires the one it renewed: that one
//     renews again only within users.Lifetimes.RenewalGrace (10 seconds
//     by default, Directus's SESSION_REFRESH_GRACE_PERIOD), and after that it ends the session, as a
//     rotated refresh token does. The session ends REFRESH_TOKEN_TTL
//     after login (Directus slides it by SESSION_COOKIE_TTL on each
//     refresh).
//
// Reuse detection has a cost for clients that share one refresh token:
// two browser tabs refreshing from the same refresh cookie at the same
// moment present it twice, and the second refresh ends the session for
// both (Directus, without reuse detection, refuses only the second). One
// client instance refreshes one at a time (the Directus SDK does); apps
// with many tabs on one cookie should use session mode, whose renewals
// may run concurrently: within users.Lifetimes.RenewalGrace of a renewal
// the cookie it renewed still renews.
//
// POST /auth/refresh and /auth/logout find the mode and the token as
// Directus does: mode from the body, else json when the body holds
// refresh_token, else cookie; the token from the body, the refresh cookie
// or the session cookie. Their body may be empty (no Content-Type). A
// missing token is 400 INVALID_PAYLOAD; a bad, expired, already rotated
// or revoked one is 401 INVALID_CREDENTIALS, as Directus answers. Logout
// answers 204 even for a token that names no session, and clears the
// refresh and session cookies the request carried.
//
// A request's access token is its "Authorization: Bearer" header (when
// present, only it counts), else its access_token query parameter, else
// its session cookie. Revocation is immediate: every resolution reads the
// session and the user, so a token stops working on the next request after
// its session ended (logout, a password change or reset, a status change
// away from active, an email change, deletion). An expired access token is
// 401 TOKEN_EXPIRED, a forged one 403 INVALID_TOKEN, one whose session
// ended 401 INVALID_CREDENTIALS. On admin routes, the access token of a
// user without admin access (or of none any more) is 403 FORBIDDEN and an
// expired one 401 TOKEN_EXPIRED, so that a client refreshes.
//
// A successful login also sets a device cookie (WithDeviceCookie;
// users_device, for a year): a later login for the same address that
// presents it is limited per device instead of per IP and address, so
// strangers' guesses, which lock the address for unknown devices, never
// lock its owner out of a device that logged in before (see
// users.Manager.Login). The client IP for the per-IP limit is ClientIP's.
//
// Every cookie is HttpOnly, with Path / and SameSite Lax unless
// configured; Secure is off by default, as in Directus: turn it on
// whenever the API is served over HTTPS. A cookie-authenticated request
// cannot be forged cross-site: bodies must be declared JSON (a CORS
// preflight), PATCH and DELETE always need one, and SameSite Lax keeps the
// cookies off cross-site POSTs.
//
// PATCH /users/me changes the caller's names and, given current_password
// (an extension: Directus asks for none), the password; a wrong one is 401
// INVALID_CREDENTIALS and counts against the address's login limit. A
// password change ends every session of the user, this one included. An
// email is not changed at once (Directus changes it at once): the new
// address gets a link that applies the change, the current one a notice
// with links to cancel it and to reset the password, and the answer still
// shows the current address (see users.Manager.RequestEmailChange; an
// address another user has is answered the same). The address it already
// has is no change.
//
// POST /auth/password/request mails a reset link only to an active user's
// address, to reset_url (on the password-reset allow-list,
// users.Links.PasswordResetURLs / PASSWORD_RESET_URL_ALLOW_LIST) or
// the default page, with ?token=; its answer and its work are the same for
// every address (see users.Manager.RequestPasswordReset). Only input
// errors are answered (400); anything else is logged and answered 204, as
// Directus does. The link works once, for an hour, while the user is still
// active with that address; a reset ends every session and clears the
// address's failed-login count.
//
// # Errors
//
// Every error is {"errors":[{"message":"…","extensions":{"code":"…"}}]}.
// As in Directus, a FAILED_VALIDATION error also names the field and the
// rule it broke (extensions field and type: "email" for an address,
// "regex" for another malformed value), and a RECORD_NOT_UNIQUE error the
// collection and the field (extensions collection and field):
//
//	400 INVALID_PAYLOAD       malformed or disallowed input, URL not on the allow-list, unknown role,
//	                          removing the last active user with admin access
//	400 FAILED_VALIDATION     a malformed field value of a user (POST/PATCH /users)
//	400 RECORD_NOT_UNIQUE     the email belongs to another user; the role id exists
//	400 INVALID_QUERY         a query parameter a listing (GET /users, /roles) does not take, or a bad value of one
//	401 INVALID_CREDENTIALS   login or refresh failed, whatever the reason; no access token, or
//	                          one whose session ended (/users/me)
//	401 INVALID_OTP           "Invalid user OTP.": the password was right, the second factor not
//	401 TOKEN_EXPIRED         an expired verification, invite or reset token, or access token
//	403 INVALID_TOKEN         a garbage, unknown, used or wrong-purpose token; a forged access token
//	403 FORBIDDEN             authorizer refusal, registration off, email filter, unknown user id,
//	                          two-factor set-up required first
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
// Refresh tokens are rotated with reuse detection (Directus rotates
// without it); session-mode sessions do not slide (see Sessions);
// two-factor sign-in is stricter (tfa/enable takes only a secret that
// tfa/generate answered to the same user within 10 minutes; a code is
// accepted once; code attempts are rate limited; the secret is stored
// encrypted; recovery codes are accepted as otp; see the users package doc's
// "Two-factor sign-in"); the static token (WithAuthorizer) belongs to no
// user, so GET /users/me answers it 401; PATCH /users/me takes only names,
// the email (applied when the new address confirms it) and the password,
// the latter with current_password; accounts are never
// suspended after failed logins (Directus suspends after
// AUTH_LOGIN_ATTEMPTS). Only the fields listed above
// are taken (a Directus field such as "language" is refused by name, not
// silently dropped), policies are plain id arrays, and GET /users knows only
// the query parameters above: no relational fields (fields=role.name), no
// operators beyond the string ones (no _gt, _between; _regex is refused,
// as Directus refuses it in a query), no dynamic variables
// ($CURRENT_USER), no deep, alias, aggregate or groupBy; a filter with an
// empty string or a duplicate key is refused, not run. DELETE /users deletes all or none (Directus, for an administrator,
// deletes the ids it finds and answers 204) and does not take
// {"query": …}. POST /users with an array checks every user, then inserts
// them one by one, deleting those inserted should one insert fail
// (Directus runs one transaction; see users.Manager.CreateUsers). GET
// /roles filters and sorts on a role's own fields only (see
// users.RoleQuery). A password that breaks the policy is 400
// INVALID_PAYLOAD naming the policy (Directus: FAILED_VALIDATION, with the
// password in extensions.invalid). Bodies must be declared JSON (see above).
// An expired token is 401 TOKEN_EXPIRED, as Directus answers.
package httpapi
