// Package users brings people into an application: self-service
// registration with email verification, creation by an administrator, and
// email invitations, under runtime settings (registration on or off, default
// role, email filter, password policy) and redirect-URL allow-lists. Its
// semantics follow the user model of the Directus headless CMS.
//
// # Overview
//
// A [Manager] is built by [New] from a [store.Store] and a [Mailer]:
//
//	m, err := users.New(store, mailer, users.Links{
//		PublicURL:    "https://app.example.com",
//		RegisterURLs: []string{"https://app.example.com/verify"},
//	})
//
// It offers [Manager.Register] and [Manager.VerifyEmail] (public),
// [Manager.CreateUser] and [Manager.Invite] (administrators),
// [Manager.AcceptInvite] (public), [Manager.Login] and [Manager.Authenticate], and role
// management ([Manager.CreateRole], [Manager.AssignRole], [Manager.RemoveRole],
// [Manager.UsersInRole], [Manager.SetPolicies]…). Administrators list and
// count users with Directus's filter syntax ([Manager.ListUsers],
// [Manager.CountUsers], [ParseFilter]) and delete them
// ([Manager.DeleteUsers]); the last active administrator is never removed
// ([ErrLastAdmin]). [Manager.ResendVerification] mails a registration's
// verification link again (an extension: Directus has none).
//
// # Options
//
// New takes [Option] values. A With… function sets one thing ([WithClock],
// [WithHasher], [WithSecret]…); related settings come grouped in structs
// that are options themselves — [Links], [Lifetimes], [Limits],
// [Delivery], [HealthThresholds], [Templates] — whose zero fields keep
// their defaults, so an application writes only what it changes. [Limits]
// alone is taken whole, since its zero values mean something: start from
// [DefaultLimits].
//
// # Sessions
//
// [Manager.Login] opens a session for an active user: a short-lived access
// token (a JWT signed with the secret, [WithSecret], with Directus's
// claims; 15 minutes by default, [Lifetimes].Access) and an opaque
// refresh token, stored only as a hash and rotated by [Manager.Refresh]; a
// rotated refresh token presented again ends its session
// ([ErrTokenReused]). [Manager.ResolveAccessToken] checks the session and
// the user on every call, so [Manager.Logout], [Manager.EndSession], a
// password change ([Manager.ChangePassword]) or reset, a status change
// away from active, an email change or a deletion stops a token at once.
// [Manager.RequestPasswordReset] and [Manager.ResetPassword] are the
// forgotten-password flow (same answer and work for every address; links
// on the allow-list [Links].PasswordResetURLs). Logins are limited per client IP
// and address and per address for unknown devices, and per device for
// devices that logged in before (device cookies, after OWASP), so
// strangers cannot lock an owner out of a known device; accounts are never
// suspended. A failed login takes as long for a user hashed at costlier
// parameters as for an unknown address, and a successful one rehashes at
// the current parameters.
//
// # Two-factor sign-in
//
// A user may add a second factor to the password: a TOTP code (RFC 6238:
// six digits, a 30-second step, HMAC-SHA1, as authenticator apps and
// Directus use), or one of ten single-use recovery codes for when the
// phone is lost. Set-up takes two steps, as in Directus:
// [Manager.GenerateTwoFactorSecret] (the password required) draws a secret and
// answers it with its otpauth:// URL (for a QR code);
// [Manager.EnableTwoFactor] turns it on once the user proves, with a code, that the app holds it.
// From then on [Manager.Login] needs a code ([LoginInput].OTP) after the
// password ([ErrInvalidOTP] otherwise).
//
// Where Directus is lenient, the Manager is stricter:
//
//   - EnableTwoFactor accepts only a secret GenerateTwoFactorSecret drew
//     for that same user, within 10 minutes, once: a stolen access token
//     cannot install a secret of the thief's choosing and lock the owner
//     out. The pending secret is kept only as its SHA-256, as a token.
//   - A code is accepted once: the last time step accepted is kept per
//     user (atomically in the Store), and a code of that step or an
//     earlier one is refused, so a code seen over a shoulder or in a log
//     cannot be replayed within its window.
//   - Code attempts — at login, to enable, disable, or regenerate recovery
//     codes — are limited per user by the Login limiter ([Limits].Login, key
//     "tfa <user id>"), as password attempts are per address: a success
//     resets the count.
//   - The secret is stored sealed with AES-256-GCM under a key derived by
//     HKDF-SHA256 from the Manager's secret ([WithSecret]), bound to the
//     user's id: the Store, its backups and its administrators never see
//     it. A Manager without WithSecret draws a random secret at New, so its
//     second factors do not survive a restart: set WithSecret in
//     production. Changing the secret makes the stored TOTP secrets
//     unreadable (codes are refused and an error is logged); recovery
//     codes still work, and an administrator can remove the second factor
//     ([Manager.RemoveTwoFactor]).
//   - Recovery codes (16 base32 characters, 80 random bits, shown grouped
//     by four) are stored as their SHA-256 only, shown once, each accepted
//     once wherever a TOTP code is (Login's OTP included).
//
// A role or a policy with EnforceTFA makes its users set up a second
// factor before anything else: their sign-in still succeeds, but
// [Manager.ResolveAccessToken] marks the [Principal]
// (TwoFactorSetupRequired, [ErrTwoFactorRequired]) until they have one:
// package httpapi then answers 403 FORBIDDEN to every route but reading
// their own user, generating and enabling a second factor, refreshing and
// logging out, and the console (webui) keeps them out.
//
// # Stores
//
// A store keeps users, roles, policies, tokens, settings and the mail
// outbox. Its contract, [store.Store], lives in package store, which is
// what a store author reads; store/storetest checks it. The module ships
// store/memstore (tests), store/sqlitestore (the embedded default),
// store/pgstore (PostgreSQL) and store/mysqlstore (MySQL and MariaDB), the
// last two for several instances on one database. Tokens are never
// stored, only their SHA-256. [Status], [Role] and [Policy] are owned by
// package store and are aliases here, so an application and a store share
// them without converting; the errors a store returns reach an
// application as this package's sentinels.
//
// # Mailers
//
// Mail is never lost: every mail is written to the store's outbox in the
// same transaction as the change that causes it, and delivered by a worker
// the host runs ([Manager.Run], or [Manager.DeliverPending] from a cron job
// or a test) through a [Mailer], with retries and exponential backoff. The
// module ships mailer/logmailer (prints mail, for quick starts),
// mailer/memmailer (records, for tests) and mailer/smtpmailer. Mails are
// rendered from [Templates] the host can replace; every value is escaped
// for its context. Delivery is at least once — a crash between a send and
// its record sends the mail again — and each mail carries one Message-ID,
// set when it is queued and the same on every attempt, so a receiver can
// drop the copy.
//
// # Settings
//
// [Settings] live in the store and are validated on save
// ([Manager.UpdateSettings]): the registration role must exist and must not
// have admin access, the email [Filter] and the [PasswordPolicy] are
// compiled when parsed, so a bad one is refused then, never at registration
// time.
//
// # Errors
//
// Errors match sentinels with errors.Is ([ErrRegistrationDisabled],
// [ErrEmailNotAllowed], [ErrURLNotAllowed], [ErrInvalidToken],
// [ErrDuplicateEmail], [ErrRoleNotFound], [ErrInvalidCredentials],
// [ErrBusy], [ErrRateLimited]…), and
// input errors are a [*ValidationError] naming the field. No error, log line
// or response ever contains a password, a token or a hash. Errors read
// "users: <operation>: <cause>", and repeat at most 64 characters of
// any input.
//
// # Limits
//
// [Limits] bounds the work strangers can cause. Password work (policy
// check, hash, verify) runs under a concurrency limit; a call that would
// take longer than a budget to be done is refused at once with a
// [*BusyError] ([ErrBusy]) estimating the wait. The limit is shared
// fairly between client IPs, and a login from a device that logged in
// before goes ahead of strangers, so one client's flood does not deny
// others ([Limits].HashQueue). Mails are limited per
// recipient — the ones anonymous requests cause apart from the ones
// administrators ask for — logins per IP, per IP and address, per address
// and per device, and password-reset requests per IP, each by a [Limiter];
// [MemoryLimiter] is the in-process default, and a denial is a
// [*RateLimitError] matching [ErrRateLimited].
//
// # Security
//
// Whatever a stranger types reaches someone else only as far as it was
// proved. A verification mail greets no one by name (names come with the
// address, unverified; see [Template]); an administrator who activates an
// unverified registration does not keep the password given with it — the
// address gets a link to choose one ([Manager.UpdateUser]). Answers that
// could tell whether an address has an account are the same, and take the
// same time: password-reset requests and resends are padded to
// [Limits].RequestStall ([Manager.RequestPasswordReset]). Reset, invite and
// verification tokens are bound to the address they were mailed to. The
// last active administrator keeps an email, so that someone can still
// sign in ([ErrLastAdmin]). A new role or policy id is ASCII letters,
// digits, '-' and '_' ([Manager.CreateRole]), one path segment wherever a
// page builds a URL from it. docs/security.md lists the threats and the
// rules that stop them.
//
// # Health and metrics
//
// [Manager.Health] reports, in the shape of Directus's GET /server/health,
// whether the store answers, the outbox backlog and its oldest mail, the
// last delivery error, the mail relay (for a [Mailer] that can check it)
// and the hashing limit, against [HealthThresholds]. For metrics the
// Manager reports flow outcomes, deliveries, hashing waits and rate-limit
// refusals to an [Observer] ([WithObserver]): a function taking a plain
// [Observation], so the library imports no metrics package and a host
// adapts the observations to its own (examples/server: Prometheus).
//
// # HTTP
//
// Package httpapi serves the Manager over net/http in the Directus wire
// format, so Directus clients work against a Go host app; package webui
// serves an administration console and the pages behind the mailed links,
// as server-rendered HTML. This package imports neither.
package users
