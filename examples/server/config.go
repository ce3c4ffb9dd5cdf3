package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-sql-driver/mysql"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/smtpmailer"
)

// config is the server's configuration, read from environment variables
// (see the settings table below: every variable, its default, its meaning
// and its parser).
type config struct {
	Host            string
	Port            int
	PublicURL       string // "": http://<listening address>
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	LogJSON         bool
	Key             string // serviceId of /server/health
	ProjectName     string

	DBClient           string // sqlite3, pg or mysql
	DBFilename         string
	DBConnectionString string
	DBHost             string // mysql
	DBPort             int
	DBDatabase         string
	DBUser             string
	DBPassword         string

	EmailTransport   string // "smtp" or "log"; "" until resolved
	EmailFrom        string
	EmailVerifySetup bool
	SMTPHost         string
	SMTPPort         int // 0: 587, or 465 with EMAIL_SMTP_SECURE
	SMTPUser         string
	SMTPPassword     string
	SMTPSecure       bool
	SMTPIgnoreTLS    bool
	SMTPName         string
	Delivery         users.Delivery

	RegisterAllowList []string
	InviteAllowList   []string
	VerifyTTL         time.Duration
	InviteTTL         time.Duration
	VerifyRedirect    string

	AdminToken     string
	AdminEmail     string
	AdminPassword  string
	TrustedProxies []netip.Prefix
	Argon2         users.Argon2id
	HashLimit      int // 0: the number of CPUs
	HashQueue      int
	HashProcesses  string // "auto", "true" or "false": see hashInChildren
	HashNice       int

	HashBudget time.Duration
	LoginStall time.Duration

	GlobalLimitEnabled    bool
	GlobalLimitPoints     int
	GlobalLimitDuration   time.Duration
	RegisterLimitEnabled  bool
	RegisterLimitPoints   int
	RegisterLimitDuration time.Duration
	// Mail per recipient address: what anonymous requests may make the
	// server send (verification mail), and, apart, what administrators'
	// invitations may.
	MailLimitPoints        int
	MailLimitDuration      time.Duration
	AdminMailLimitPoints   int
	AdminMailLimitDuration time.Duration

	Sessions sessionConfig // SECRET, *_TOKEN_TTL, cookies, reset allow-list, login limits: sessions.go

	CORSEnabled        bool
	CORSOrigins        []string // "*": any origin
	CORSMethods        []string
	CORSAllowedHeaders []string
	CORSExposedHeaders []string
	CORSCredentials    bool
	CORSMaxAge         int

	MetricsEnabled bool
	MetricsTokens  []string

	Health users.HealthThresholds

	WebhookURLs       []string
	WebhookKey        []byte
	WebhookAllowHTTP  bool
	RetentionEnabled  bool
	ActivityRetention time.Duration

	// set records the variables the environment set (not their defaults).
	set map[string]bool
}

// A setting is one environment variable: its name, its default as an
// operator would write it, what it means, and how its value is parsed
// into the config. Add a row to a section to add a variable: -h prints it,
// the start-up log shows its effective value, and its parse error names
// it.
type setting struct {
	name string
	// def is the default, parsed as a value would be; "" means unset (the
	// field keeps its zero value, which help explains, or defText says).
	def string
	// defText describes a default that def cannot write (one computed at
	// start-up); -h shows it instead of def.
	defText string
	help    string
	// secret values are never printed; redact, when set, prints a value
	// with its secret parts hidden.
	secret bool
	redact func(string) string
	// verbatim values keep their surrounding spaces (a password may
	// have them); others are trimmed.
	verbatim bool
	parse    func(c *config, v string) error
}

// section is a group of settings, as -h shows them.
type section struct {
	title    string
	settings []setting
}

// sections lists every variable the server reads, in the order -h prints
// them.
func sections() []section {
	return []section{serverSection, databaseSection, emailSection, deliverySection, usersSection,
		sessionsSection, securitySection, limitsSection, corsSection, metricsSection, healthSection,
		webhookSection, retentionSection}
}

var serverSection = section{"Server", []setting{
	{name: "HOST", def: "127.0.0.1", help: "Address to listen on. Directus listens on 0.0.0.0 by default; this server only on the loopback interface unless told.",
		parse: func(c *config, v string) error { c.Host = v; return nil }},
	{name: "PORT", def: "8055", help: "Port to listen on (0: any free port).",
		parse: func(c *config, v string) (err error) { c.Port, err = intIn(v, 0, 65535); return }},
	{name: "PUBLIC_URL", defText: "http://<listening address>", help: "Base of the links in mails (verify email, accept invite): an absolute http(s) URL. Set it whenever people reach the server at another address (HOST=0.0.0.0, a proxy).",
		parse: func(c *config, v string) error { c.PublicURL = v; return checkHTTPURL(v) }},
	{name: "SHUTDOWN_TIMEOUT", def: "15", help: "Seconds in-flight requests get to finish on SIGINT/SIGTERM.",
		parse: func(c *config, v string) error { return seconds(v, 0, 3600, &c.ShutdownTimeout) }},
	{name: "LOG_LEVEL", def: "info", help: "Least severe log level written: debug, info, warn or error.",
		parse: func(c *config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{name: "LOG_STYLE", def: "pretty", help: "Log format, as Directus names it: pretty (logfmt text) or raw (JSON lines).",
		parse: func(c *config, v string) error {
			switch v {
			case "pretty":
				c.LogJSON = false
			case "raw":
				c.LogJSON = true
			default:
				return fmt.Errorf("must be pretty or raw, not %q", v)
			}
			return nil
		}},
	{name: "KEY", help: "Identifier of this project, shown to administrators as serviceId by GET /server/health (Directus's KEY). Default: none.",
		parse: func(c *config, v string) error { c.Key = v; return nil }},
	{name: "PROJECT_NAME", help: "The project name mails use (\"You have been invited to join <project>\") while the stored settings have none; PATCH /settings project_name overrides it. At most 100 characters. Default: none (\"You have been invited\").",
		parse: func(c *config, v string) error { c.ProjectName = v; return nil }}, // judged by users.New (see managerError)
}}

var databaseSection = section{"Database", []setting{
	{name: "DB_CLIENT", def: "sqlite3", help: "The store: sqlite3 (one process; the file DB_FILENAME), pg (PostgreSQL) or mysql (MySQL or MariaDB) — the last two for several instances on one database.",
		parse: func(c *config, v string) error {
			switch v {
			case "sqlite3", "sqlite":
				c.DBClient = "sqlite3"
			case "pg", "postgres", "postgresql":
				c.DBClient = "pg"
			case "mysql", "mariadb":
				c.DBClient = "mysql"
			default:
				return fmt.Errorf("must be sqlite3, pg or mysql, not %q", v)
			}
			return nil
		}},
	{name: "DB_FILENAME", def: "users.db", help: "SQLite database file (DB_CLIENT=sqlite3); created if missing.",
		parse: func(c *config, v string) error { c.DBFilename = v; return nil }},
	{name: "DB_CONNECTION_STRING", help: "Connection string, required with DB_CLIENT=pg (postgres://user:pass@host:5432/db or key=value pairs); with DB_CLIENT=mysql a driver DSN (user:pass@tcp(host:3306)/db) or a mysql:// URL, instead of DB_HOST and the rest. Its password is never logged. Default: none.",
		redact: redactDSN, parse: func(c *config, v string) error { c.DBConnectionString = v; return nil }},
	{name: "DB_HOST", help: "MySQL or MariaDB host (DB_CLIENT=mysql, without DB_CONNECTION_STRING). Default: none.",
		parse: func(c *config, v string) error { c.DBHost = v; return nil }},
	{name: "DB_PORT", def: "3306", help: "MySQL or MariaDB port.",
		parse: func(c *config, v string) (err error) { c.DBPort, err = intIn(v, 1, 65535); return }},
	{name: "DB_DATABASE", help: "MySQL or MariaDB database name. Default: none.",
		parse: func(c *config, v string) error { c.DBDatabase = v; return nil }},
	{name: "DB_USER", help: "MySQL or MariaDB user. Default: none.",
		parse: func(c *config, v string) error { c.DBUser = v; return nil }},
	{name: "DB_PASSWORD", secret: true, verbatim: true, help: "MySQL or MariaDB password, taken as given. Default: none.",
		parse: func(c *config, v string) error { c.DBPassword = v; return nil }},
}}

var emailSection = section{"Email", []setting{
	{name: "EMAIL_TRANSPORT", defText: "smtp when EMAIL_SMTP_HOST is set, else log", help: "smtp sends through EMAIL_SMTP_HOST; log prints every mail to stdout (for trying things out). Directus's other transports (sendmail, mailgun, ses…) are not supported.",
		parse: func(c *config, v string) error {
			if v != "smtp" && v != "log" {
				return fmt.Errorf("must be smtp or log, not %q", v)
			}
			c.EmailTransport = v
			return nil
		}},
	{name: "EMAIL_FROM", def: "no-reply@example.com", help: "Sender of every mail: an address, with an optional display name (\"App <no-reply@app.example>\").",
		parse: func(c *config, v string) error {
			if _, err := mail.ParseAddress(v); err != nil {
				return fmt.Errorf("is not an address: %v", err)
			}
			c.EmailFrom = v
			return nil
		}},
	{name: "EMAIL_VERIFY_SETUP", def: "true", help: "Check the SMTP relay at start-up (connect, EHLO, STARTTLS, AUTH, QUIT); a failure is one ERROR line naming the variable to change, and the server keeps serving (mail waits in the outbox).",
		parse: func(c *config, v string) (err error) { c.EmailVerifySetup, err = boolean(v); return }},
	{name: "EMAIL_SMTP_HOST", help: "SMTP relay host name or IP address. Default: none (mail is printed).",
		parse: func(c *config, v string) error {
			c.SMTPHost = v
			if strings.ContainsAny(v, " \t/@") || strings.ContainsFunc(v, unicode.IsControl) {
				return fmt.Errorf("must be a host name or an IP address, not %q", v)
			}
			if _, _, err := net.SplitHostPort(strings.Trim(v, "[]")); err == nil {
				return fmt.Errorf("%q includes a port: set EMAIL_SMTP_PORT instead", v)
			}
			return nil
		}},
	{name: "EMAIL_SMTP_PORT", defText: "587, or 465 with EMAIL_SMTP_SECURE=true", help: "SMTP relay port.",
		parse: func(c *config, v string) (err error) { c.SMTPPort, err = intIn(v, 1, 65535); return }},
	{name: "EMAIL_SMTP_USER", help: "SMTP AUTH user name (PLAIN, LOGIN or CRAM-MD5). Default: none (no AUTH).",
		parse: func(c *config, v string) error { c.SMTPUser = v; return nil }},
	{name: "EMAIL_SMTP_PASSWORD", secret: true, verbatim: true, help: "SMTP AUTH password, taken as given (spaces included); never sent in the clear to a relay on another host. Default: none.",
		parse: func(c *config, v string) error { c.SMTPPassword = v; return nil }},
	{name: "EMAIL_SMTP_SECURE", def: "false", help: "Implicit TLS: TLS from the first byte (usually port 465), as nodemailer's secure. When false, STARTTLS is required — except for a relay on a loopback address (127.0.0.0/8, ::1, localhost) that does not offer it, which gets mail in the clear, as from Directus.",
		parse: func(c *config, v string) (err error) { c.SMTPSecure, err = boolean(v); return }},
	{name: "EMAIL_SMTP_IGNORE_TLS", def: "false", help: "Never use TLS, even when offered (nodemailer's ignoreTLS). No effect with EMAIL_SMTP_SECURE=true. Refused with EMAIL_SMTP_USER unless the relay is on a loopback address: credentials never cross a network in the clear.",
		parse: func(c *config, v string) (err error) { c.SMTPIgnoreTLS, err = boolean(v); return }},
	{name: "EMAIL_SMTP_NAME", defText: "this machine's host name", help: "Name this server gives in EHLO.",
		parse: func(c *config, v string) error {
			if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
				return fmt.Errorf("must be a host name without spaces or control characters, not %q", v)
			}
			c.SMTPName = v
			return nil
		}},
}}

var deliverySection = section{"Mail delivery (the outbox worker; durations such as 30s, 5m, 1h)", []setting{
	{name: "MAIL_MAX_ATTEMPTS", def: "8", help: "Attempts before a mail is marked failed.",
		parse: func(c *config, v string) (err error) { c.Delivery.MaxAttempts, err = intIn(v, 1, 1000); return }},
	{name: "MAIL_RETRY_BACKOFF", def: "30s", help: "Wait after a first failed attempt; it doubles after each further one, up to MAIL_MAX_BACKOFF.",
		parse: func(c *config, v string) (err error) { c.Delivery.InitialBackoff, err = duration(v); return }},
	{name: "MAIL_MAX_BACKOFF", def: "1h", help: "Longest wait between two attempts.",
		parse: func(c *config, v string) (err error) { c.Delivery.MaxBackoff, err = duration(v); return }},
	{name: "MAIL_SEND_TIMEOUT", def: "1m", help: "Time one SMTP send may take. Must be below MAIL_LEASE.",
		parse: func(c *config, v string) (err error) { c.Delivery.SendTimeout, err = duration(v); return }},
	{name: "MAIL_LEASE", def: "5m", help: "How long a claimed mail is reserved for its worker; the mail of a worker that died is retried after it.",
		parse: func(c *config, v string) (err error) { c.Delivery.Lease, err = duration(v); return }},
	{name: "MAIL_CONCURRENCY", def: "4", help: "Mails sent at once.",
		parse: func(c *config, v string) (err error) { c.Delivery.Concurrency, err = intIn(v, 1, 1000); return }},
	{name: "MAIL_BATCH_SIZE", def: "50", help: "Mails one claim takes.",
		parse: func(c *config, v string) (err error) { c.Delivery.BatchSize, err = intIn(v, 1, 100000); return }},
	{name: "MAIL_POLL_INTERVAL", def: "5s", help: "How often the worker looks for due mail (mail queued by this process goes at once).",
		parse: func(c *config, v string) (err error) { c.Delivery.PollInterval, err = duration(v); return }},
}}

var usersSection = section{"Users and tokens", []setting{
	{name: "USER_REGISTER_URL_ALLOW_LIST", help: "Comma-separated URLs POST /users/register accepts as verification_url (one leading *. label allowed in a host). Default: none.",
		parse: func(c *config, v string) error { c.RegisterAllowList = list(v); return nil }}, // judged by users.New (see managerError)
	{name: "USER_INVITE_URL_ALLOW_LIST", help: "Comma-separated URLs POST /users/invite accepts as invite_url. Default: none.",
		parse: func(c *config, v string) error { c.InviteAllowList = list(v); return nil }}, // judged by users.New
	{name: "EMAIL_VERIFICATION_TOKEN_TTL", def: "7d", help: "Lifetime of a verification link (Directus's name): a duration such as 7d, 36h or 30m, or a number of milliseconds, as in Directus.",
		parse: func(c *config, v string) (err error) { c.VerifyTTL, err = duration(v); return }},
	{name: "USER_INVITE_TOKEN_TTL", def: "7d", help: "Lifetime of an invitation link (Directus's name).",
		parse: func(c *config, v string) (err error) { c.InviteTTL, err = duration(v); return }},
	{name: "USER_REGISTER_VERIFY_REDIRECT", help: "Where GET /users/register/verify-email sends the browser after a successful verification (302): an absolute http(s) URL or a path such as /login. Default: none (204 No Content).",
		parse: func(c *config, v string) error { c.VerifyRedirect = v; return checkRedirect(v) }},
}}

var securitySection = section{"Security", []setting{
	{name: "ADMIN_TOKEN", secret: true, help: "Static bearer token that acts as an administrator (Authorization: Bearer <token>), at least 16 characters. Default: none — every admin route answers 403.",
		parse: func(c *config, v string) error {
			if len(v) < 16 {
				return errors.New("must be at least 16 characters")
			}
			c.AdminToken = v
			return nil
		}},
	{name: "ADMIN_EMAIL", help: "With ADMIN_PASSWORD: the first administrator, created at start-up (active, in the role Administrator) when no active user has an admin role. An existing user with that address is left alone. Default: none.",
		parse: func(c *config, v string) error {
			// The library judges the address when it creates the user; a
			// value that is not even an address stops the start here.
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				return errors.New("must be a plain email address (name@example.com)")
			}
			c.AdminEmail = v
			return nil
		}},
	{name: "ADMIN_PASSWORD", secret: true, verbatim: true, help: "The first administrator's password (required with ADMIN_EMAIL; unlike Directus, none is made up).",
		parse: func(c *config, v string) error { c.AdminPassword = v; return nil }},
	{name: "IP_TRUST_PROXY", help: "Comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For is believed for the client IP (rate limits). Default: none — Directus trusts every proxy by default; a client could then choose its IP.",
		parse: func(c *config, v string) error {
			for _, e := range list(v) {
				p, err := netip.ParsePrefix(e)
				if err != nil {
					a, aerr := netip.ParseAddr(e)
					if aerr != nil {
						return fmt.Errorf("%q is neither an IP address nor a CIDR prefix", e)
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				c.TrustedProxies = append(c.TrustedProxies, p.Masked())
			}
			return nil
		}},
	{name: "HASH_MEMORY_COST", def: "19456", help: "argon2id memory per password hash, in KiB (at least 8 × HASH_PARALLELISM).",
		parse: func(c *config, v string) error { n, err := intIn(v, 8, 4<<20); c.Argon2.Memory = uint32(n); return err }},
	{name: "HASH_TIME_COST", def: "2", help: "argon2id passes.",
		parse: func(c *config, v string) error { n, err := intIn(v, 1, 1024); c.Argon2.Time = uint32(n); return err }},
	{name: "HASH_PARALLELISM", def: "1", help: "argon2id lanes.",
		parse: func(c *config, v string) error { n, err := intIn(v, 1, 255); c.Argon2.Threads = uint8(n); return err }},
	{name: "HASH_CONCURRENCY", defText: fmt.Sprintf("the number of CPUs (%d here)", runtime.NumCPU()), help: "Password hashes run at once; each holds HASH_MEMORY_COST of memory.",
		parse: func(c *config, v string) (err error) { c.HashLimit, err = intIn(v, 1, 4096); return }},
	{name: "HASH_QUEUE", def: "1024", help: "Requests that may wait for a hashing slot; further ones are answered 503 at once (with Retry-After). Slots and queue are shared fairly between client IPs (an IPv6 client by its /64), and a login with a device cookie goes ahead of strangers: one IP's flood fills its own share.",
		parse: func(c *config, v string) (err error) { c.HashQueue, err = intIn(v, 0, 1<<20); return }},
	{name: "HASH_WAIT_BUDGET", def: "5s", help: "Longest a request may expect to take at the hashing limit, its wait and its own hash: a request that would take longer ((requests ahead + 1) × the measured hash time ÷ HASH_CONCURRENCY, plus one hash) is answered 503 at once with the expected wait as Retry-After. 0 never waits.",
		parse: func(c *config, v string) (err error) {
			if v == "0" {
				c.HashBudget = 0
				return nil
			}
			c.HashBudget, err = duration(v)
			return
		}},
	{name: "HASH_PROCESSES", def: "auto", help: "Hash passwords in child processes of the server (one per HASH_CONCURRENCY) whose threads run at a lower CPU priority (HASH_NICE), so that under a flood of registrations or logins the requests that need no hash (the flood's own 503s, refusals, health checks) still get the CPU at once: true, false, or auto: on Linux, when HASH_MEMORY_COST × HASH_TIME_COST is at least 16384 (a hash of 15 ms or more; the library's default is 38912, Directus's 196608). A cheaper hash costs less in the server than a round trip to another process.",
		parse: func(c *config, v string) error {
			switch v = strings.ToLower(v); v {
			case "auto", "true", "false":
				c.HashProcesses = v
				return nil
			}
			return fmt.Errorf("%q is not auto, true or false", v)
		}},
	{name: "HASH_NICE", def: "10", help: "How much lower the hashing processes' CPU priority is than the server's (nice, 0-19; with HASH_PROCESSES). At 10 a request thread gets about nine tenths of a CPU it shares with a hashing thread; the hashing gets every CPU cycle the requests leave.",
		parse: func(c *config, v string) (err error) { c.HashNice, err = intIn(v, 0, 19); return }},
	{name: "GOMEMLIMIT", defText: "2 × HASH_CONCURRENCY × HASH_MEMORY_COST + 64 MiB", help: "Go's soft memory limit (read by the Go runtime; e.g. 300MiB). When it is not set and the server hashes itself (HASH_PROCESSES off) the server sets it to its default, so that a flood of registrations stays near the memory its running hashes hold instead of reaching twice that between garbage collections.",
		parse: func(*config, string) error { return nil }},
	{name: "GOMAXPROCS", defText: "cores; HASH_PARALLELISM × HASH_CONCURRENCY + cores while hashing is contended", help: "Go's processors (read by the Go runtime). When it is not set the server runs at one per core, and, when it hashes itself (HASH_PROCESSES off), while a flood of registrations or logins keeps the hashing queue contended (a hash waited for its slot or was shed in the last 2 s) raises it to a processor per lane of the hashes allowed at once plus one per core, so that the requests that need no hash (a 503 for the flood itself, a login refused, a health check) do not wait behind the hashing lanes. Set, it is fixed: a fixed high value costs the cheapest routes up to a fifth of their throughput (GOMAXPROCS=2 on 2 cores: 20,200 against 16,600 garbage-token verifications per second with 10).",
		parse: func(*config, string) error { return nil }},
	{name: "LOGIN_STALL_TIME", def: "0", help: "Least time, in milliseconds, the password check of a failed login takes before the server has learned the cost of every hash parameter set in use (Directus's name; Directus stalls every login to 500). 0: learned only.",
		parse: func(c *config, v string) error {
			n, err := intIn(v, 0, 60000)
			c.LoginStall = time.Duration(n) * time.Millisecond
			return err
		}},
}}

var limitsSection = section{"Rate limits (durations in seconds, as Directus's)", []setting{
	{name: "RATE_LIMITER_ENABLED", def: "false", help: "Limit every public route (register, resend, verify-email, accept-invite, login, refresh, logout, password request and reset) per client IP (429 beyond). Directus's limiter counts every request; this one leaves the admin routes, which need a token, out.",
		parse: func(c *config, v string) (err error) { c.GlobalLimitEnabled, err = boolean(v); return }},
	{name: "RATE_LIMITER_POINTS", def: "50", help: "Requests to the public routes per client IP per RATE_LIMITER_DURATION.",
		parse: func(c *config, v string) (err error) { c.GlobalLimitPoints, err = intIn(v, 1, 1<<30); return }},
	{name: "RATE_LIMITER_DURATION", def: "1", help: "Window of the public-route limit, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.GlobalLimitDuration) }},
	{name: "RATE_LIMITER_REGISTRATION_ENABLED", def: "true", help: "Limit POST /users/register and the console's register page (/admin/register) per client IP, one count for both (429 beyond).",
		parse: func(c *config, v string) (err error) { c.RegisterLimitEnabled, err = boolean(v); return }},
	{name: "RATE_LIMITER_REGISTRATION_POINTS", def: "5", help: "Registrations per client IP per RATE_LIMITER_REGISTRATION_DURATION.",
		parse: func(c *config, v string) (err error) { c.RegisterLimitPoints, err = intIn(v, 1, 1<<30); return }},
	{name: "RATE_LIMITER_REGISTRATION_DURATION", def: "60", help: "Window of the registration limit, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.RegisterLimitDuration) }},
	{name: "RATE_LIMITER_MAIL_POINTS", def: "5", help: "Mails anonymous requests (registrations) may have sent to one address per RATE_LIMITER_MAIL_DURATION; beyond, the registration is answered as usual but no mail is queued.",
		parse: func(c *config, v string) (err error) { c.MailLimitPoints, err = intIn(v, 1, 1<<30); return }},
	{name: "RATE_LIMITER_MAIL_DURATION", def: "3600", help: "Window of the mail limit, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.MailLimitDuration) }},
	{name: "RATE_LIMITER_MAIL_ADMIN_POINTS", def: "10", help: "Invitation mails one address may get per RATE_LIMITER_MAIL_ADMIN_DURATION: an allowance of its own, which anonymous traffic cannot use up; beyond, the invitation answers 429 for that address.",
		parse: func(c *config, v string) (err error) { c.AdminMailLimitPoints, err = intIn(v, 1, 1<<30); return }},
	{name: "RATE_LIMITER_MAIL_ADMIN_DURATION", def: "3600", help: "Window of the invitation mail limit, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.AdminMailLimitDuration) }},
	{name: "RATE_LIMITER_LOGIN_ADDRESS_POINTS", def: "10", help: "Login attempts per address from devices that never logged in to it (no device cookie) per RATE_LIMITER_LOGIN_ADDRESS_DURATION; beyond, 429. Directus suspends the account after AUTH_LOGIN_ATTEMPTS failures; this server never does.",
		parse: func(c *config, v string) (err error) {
			c.Sessions.LoginAddress.Points, err = intIn(v, 1, 1<<30)
			return
		}},
	{name: "RATE_LIMITER_LOGIN_ADDRESS_DURATION", def: "900", help: "Window of the per-address login limit, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.Sessions.LoginAddress.Window) }},
	{name: "RATE_LIMITER_LOGIN_IP_POINTS", def: "5", help: "Login attempts per client IP and address from unknown devices per RATE_LIMITER_LOGIN_IP_DURATION.",
		parse: func(c *config, v string) (err error) { c.Sessions.LoginIP.Points, err = intIn(v, 1, 1<<30); return }},
	{name: "RATE_LIMITER_LOGIN_IP_DURATION", def: "900", help: "Window of the per-IP login limit, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.Sessions.LoginIP.Window) }},
	{name: "RATE_LIMITER_LOGIN_IP_TOTAL_POINTS", def: "1000", help: "Login attempts per client IP from unknown devices, whatever the address, per RATE_LIMITER_LOGIN_IP_TOTAL_DURATION (successful ones count too); beyond, 429. It limits a client that tries ever-new addresses, which the per-address limits never see twice.",
		parse: func(c *config, v string) (err error) {
			c.Sessions.LoginIPTotal.Points, err = intIn(v, 1, 1<<30)
			return
		}},
	{name: "RATE_LIMITER_LOGIN_IP_TOTAL_DURATION", def: "900", help: "Window of the per-IP login limit over all addresses, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.Sessions.LoginIPTotal.Window) }},
	{name: "RATE_LIMITER_LOGIN_DEVICE_POINTS", def: "10", help: "Login attempts per device that logged in to the address before (device cookie) per RATE_LIMITER_LOGIN_DEVICE_DURATION.",
		parse: func(c *config, v string) (err error) { c.Sessions.LoginDevice.Points, err = intIn(v, 1, 1<<30); return }},
	{name: "RATE_LIMITER_LOGIN_DEVICE_DURATION", def: "900", help: "Window of the per-device login limit, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.Sessions.LoginDevice.Window) }},
	{name: "RATE_LIMITER_PASSWORD_REQUEST_POINTS", def: "10", help: "Password-reset requests (POST /auth/password/request, the console's forgot-password page) per client IP, whatever the address, per RATE_LIMITER_PASSWORD_REQUEST_DURATION; beyond, 429.",
		parse: func(c *config, v string) (err error) {
			c.Sessions.ResetRequestIP.Points, err = intIn(v, 1, 1<<30)
			return
		}},
	{name: "RATE_LIMITER_PASSWORD_REQUEST_DURATION", def: "900", help: "Window of the password-reset request limit, in seconds.",
		parse: func(c *config, v string) error { return seconds(v, 1, 1<<30, &c.Sessions.ResetRequestIP.Window) }},
}}

var corsSection = section{"CORS (Directus's names and defaults)", []setting{
	{name: "CORS_ENABLED", def: "false", help: "Answer cross-origin requests and preflights from the origins CORS_ORIGIN allows.",
		parse: func(c *config, v string) (err error) { c.CORSEnabled, err = boolean(v); return }},
	{name: "CORS_ORIGIN", def: "false", help: "Allowed origins: comma-separated (https://app.example.com, https://*.example.com — a * only as a whole leading label, matching exactly one label), true or * for any origin, false for none. With any origin, credentials are not allowed (Directus allows them). The admin console (/admin/) is never shared cross-origin.",
		parse: corsOrigins},
	{name: "CORS_METHODS", def: "GET,POST,PATCH,DELETE", help: "Methods a cross-origin request may use.",
		parse: func(c *config, v string) error { c.CORSMethods = list(v); return nil }},
	{name: "CORS_ALLOWED_HEADERS", def: "Content-Type,Authorization", help: "Request headers a cross-origin request may send.",
		parse: func(c *config, v string) error { c.CORSAllowedHeaders = list(v); return nil }},
	{name: "CORS_EXPOSED_HEADERS", def: "Content-Range", help: "Response headers a cross-origin script may read.",
		parse: func(c *config, v string) error { c.CORSExposedHeaders = list(v); return nil }},
	{name: "CORS_CREDENTIALS", def: "true", help: "Allow credentials (cookies, Authorization) on cross-origin requests from a listed origin.",
		parse: func(c *config, v string) (err error) { c.CORSCredentials, err = boolean(v); return }},
	{name: "CORS_MAX_AGE", def: "18000", help: "Seconds a browser may cache a preflight answer.",
		parse: func(c *config, v string) (err error) { c.CORSMaxAge, err = intIn(v, 0, 1<<30); return }},
}}

var metricsSection = section{"Metrics", []setting{
	{name: "METRICS_ENABLED", def: "false", help: "Serve Prometheus metrics at GET /metrics: requests by route and status, flow outcomes, outbox, hashing, rate limits. Readable by administrators (ADMIN_TOKEN) and with METRICS_TOKENS, as in Directus.",
		parse: func(c *config, v string) (err error) { c.MetricsEnabled, err = boolean(v); return }},
	{name: "METRICS_TOKENS", secret: true, help: "Comma-separated tokens a scraper may send as \"Authorization: Metrics <token>\" (Directus's scheme), each at least 16 characters. Default: none (administrators only).",
		parse: func(c *config, v string) error {
			c.MetricsTokens = list(v)
			for i, t := range c.MetricsTokens {
				if len(t) < 16 {
					return fmt.Errorf("token %d must be at least 16 characters", i+1)
				}
			}
			return nil
		}},
}}

var healthSection = section{"Health (GET /server/health thresholds)", []setting{
	{name: "DB_HEALTHCHECK_THRESHOLD", def: "150", help: "Milliseconds the database may take to answer before the status is warn (Directus's name).",
		parse: func(c *config, v string) error {
			n, err := intIn(v, 1, 1<<30)
			c.Health.DatabaseResponseTime = time.Duration(n) * time.Millisecond
			return err
		}},
	{name: "HEALTH_OUTBOX_PENDING", def: "1000", help: "Pending mails at which the status is warn.",
		parse: func(c *config, v string) (err error) { c.Health.OutboxPending, err = intIn(v, 1, 1<<30); return }},
	{name: "HEALTH_OUTBOX_AGE", def: "15m", help: "Age of the oldest pending mail over which the status is warn.",
		parse: func(c *config, v string) (err error) { c.Health.OutboxAge, err = duration(v); return }},
	{name: "HEALTH_DELIVERY_ERROR_WINDOW", def: "15m", help: "How long a failed delivery (a relay problem, not a refused recipient) keeps the status at warn unless a later one succeeds.",
		parse: func(c *config, v string) (err error) { c.Health.DeliveryErrorWindow, err = duration(v); return }},
	{name: "HEALTH_EMAIL_PROBE_INTERVAL", def: "30s", help: "How often /server/health checks the SMTP relay (a stopped relay shows as warn within this, plus 10s), or off.",
		parse: func(c *config, v string) (err error) {
			if v == "off" {
				c.Health.MailerProbeInterval = -1
				return nil
			}
			c.Health.MailerProbeInterval, err = duration(v)
			return
		}},
}}

// loadConfig reads every variable of sections() through getenv, then
// checks the rules between variables. Every problem is reported, by
// variable name, in one error.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{set: map[string]bool{},
		Sessions: sessionConfig{RefreshCookie: httpapi.CookieOptions{SameSite: http.SameSiteLaxMode},
			SessionCookie: httpapi.CookieOptions{SameSite: http.SameSiteLaxMode}}}
	var errs []error
	for _, sec := range sections() {
		for _, s := range sec.settings {
			v := getenv(s.name)
			if !s.verbatim {
				v = strings.TrimSpace(v)
			}
			if v != "" {
				c.set[s.name] = true
			} else {
				v = s.def
			}
			if v == "" {
				continue
			}
			if err := s.parse(&c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			}
		}
	}
	errs = append(errs, c.check(len(errs) == 0)...)
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// check applies the rules that involve several variables, naming them.
// valid says every variable parsed; the checks that need a whole
// configuration run only then.
func (c *config) check(valid bool) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch c.DBClient {
	case "pg":
		if c.DBConnectionString == "" {
			bad("DB_CONNECTION_STRING is required with DB_CLIENT=pg")
		}
	case "mysql":
		if _, err := c.mysqlDSN(); err != nil {
			bad("DB_CONNECTION_STRING: %v", err)
		}
	}
	c.checkSessions(bad)
	c.checkWebhooks(bad)
	if c.Argon2.Memory < 8*uint32(c.Argon2.Threads) {
		bad("HASH_MEMORY_COST (%d) must be at least 8 × HASH_PARALLELISM (%d)", c.Argon2.Memory, c.Argon2.Threads)
	}
	d := c.Delivery
	if d.SendTimeout >= d.Lease {
		bad("MAIL_SEND_TIMEOUT (%s) must be below MAIL_LEASE (%s): a mail still being sent would be claimed again", d.SendTimeout, d.Lease)
	}
	if d.InitialBackoff > d.MaxBackoff {
		bad("MAIL_RETRY_BACKOFF (%s) must not exceed MAIL_MAX_BACKOFF (%s)", d.InitialBackoff, d.MaxBackoff)
	}

	// Mail.
	if c.EmailTransport == "" {
		c.EmailTransport = "log"
		if c.SMTPHost != "" {
			c.EmailTransport = "smtp"
		}
	}
	if c.EmailTransport == "smtp" {
		if c.SMTPHost == "" {
			bad("EMAIL_SMTP_HOST is required with EMAIL_TRANSPORT=smtp")
		}
		if c.SMTPPort == 0 {
			c.SMTPPort = 587
			if c.SMTPSecure {
				c.SMTPPort = 465
			}
		}
		if c.SMTPPassword != "" && c.SMTPUser == "" {
			bad("EMAIL_SMTP_PASSWORD is set but EMAIL_SMTP_USER is empty")
		}
		if c.smtpMode() == smtpmailer.Plain && c.SMTPUser != "" && c.SMTPHost != "" && !smtpmailer.IsLoopback(c.SMTPHost) {
			bad("EMAIL_SMTP_IGNORE_TLS=true with EMAIL_SMTP_USER would send the SMTP password in the clear to EMAIL_SMTP_HOST=%s, "+
				"which is not this machine: drop EMAIL_SMTP_IGNORE_TLS (STARTTLS) or set EMAIL_SMTP_SECURE=true", c.SMTPHost)
		}
		if c.SMTPHost != "" && valid && len(errs) == 0 {
			if _, err := c.newSMTPMailer(); err != nil {
				bad("EMAIL_SMTP_*: %v", unprefix(err))
			}
		}
	}

	if c.AdminEmail != "" && c.AdminPassword == "" {
		bad("ADMIN_PASSWORD is required with ADMIN_EMAIL")
	}
	return errs
}

// smtpMode is the smtpmailer TLS mode EMAIL_SMTP_SECURE and
// EMAIL_SMTP_IGNORE_TLS select, with nodemailer's precedence (secure wins).
func (c *config) smtpMode() smtpmailer.TLSMode {
	switch {
	case c.SMTPSecure:
		return smtpmailer.ImplicitTLS
	case c.SMTPIgnoreTLS:
		return smtpmailer.Plain
	}
	return smtpmailer.STARTTLS
}

func (c *config) newSMTPMailer() (*smtpmailer.Mailer, error) {
	return smtpmailer.New(smtpmailer.Config{
		Host:     c.SMTPHost,
		Port:     c.SMTPPort,
		Username: c.SMTPUser,
		Password: c.SMTPPassword,
		From:     c.EmailFrom,
		TLS:      c.smtpMode(),
		HeloName: c.SMTPName,
	})
}

// hashChildrenMinWork is the least HASH_MEMORY_COST × HASH_TIME_COST
// (KiB passes) that HASH_PROCESSES=auto hashes in child processes: at
// about 1 µs per KiB pass, a hash of 15 ms or more, longer than the Go
// scheduler's time slice.
const hashChildrenMinWork = 16384

// hashInChildren reports whether passwords are hashed in child processes
// (HASH_PROCESSES): true or false as set; auto, on Linux when a hash is
// at least hashChildrenMinWork.
func (c *config) hashInChildren() bool {
	switch c.HashProcesses {
	case "true":
		return true
	case "false":
		return false
	}
	return runtime.GOOS == "linux" && uint64(c.Argon2.Memory)*uint64(c.Argon2.Time) >= hashChildrenMinWork
}

func (c *config) hashLimit() int {
	if c.HashLimit > 0 {
		return c.HashLimit
	}
	return runtime.NumCPU()
}

func (c *config) anyOrigin() bool { return len(c.CORSOrigins) == 1 && c.CORSOrigins[0] == "*" }

// addr is the address the server listens on.
func (c *config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// logEffective logs the configuration in force, one line per section:
// every variable with the value the server uses (the environment's, or the
// default), secrets redacted.
func logEffective(log *slog.Logger, getenv func(string) string, publicURL string) {
	for _, sec := range sections() {
		attrs := []any{"section", sec.title}
		for _, s := range sec.settings {
			v := getenv(s.name)
			if !s.verbatim {
				v = strings.TrimSpace(v)
			}
			switch {
			case v != "" && s.secret:
				v = "[redacted]"
			case v != "" && s.redact != nil:
				v = s.redact(v)
			case v == "" && s.name == "PUBLIC_URL":
				v = publicURL
			case v == "" && s.def != "":
				v = s.def
			case v == "" && s.defText != "":
				v = "(" + s.defText + ")"
			case v == "":
				v = "(none)"
			}
			attrs = append(attrs, s.name, v)
		}
		log.Info("configuration", attrs...)
	}
}

// printHelp writes the usage and every variable, with its default and
// meaning.
func printHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: server [-h]

Serves the users library's Directus-compatible HTTP API (register, verify
email, invite, accept invite, users, roles, settings, login, health), and
the admin console at /admin/ (sign in there as the administrator
ADMIN_EMAIL and ADMIN_PASSWORD create; the mailed links open its pages).
Configured by environment variables, named like Directus's where Directus
has one. Every variable, with its default:
`)
	for _, sec := range sections() {
		fmt.Fprintf(w, "\n%s\n", sec.title)
		for _, s := range sec.settings {
			def := s.def
			if s.defText != "" {
				def = s.defText
			}
			if def == "" {
				fmt.Fprintf(w, "  %s\n", s.name)
			} else {
				fmt.Fprintf(w, "  %s (default: %s)\n", s.name, def)
			}
			for _, line := range wrap(s.help, 72) {
				fmt.Fprintf(w, "      %s\n", line)
			}
		}
	}
	fmt.Fprint(w, `
Settings stored in the database (registration on or off, its role, the
email filter, the password policy, the project name) are changed on the
console's /admin/settings page or with PATCH /settings.
`)
}

// wrap splits text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// Parsers. Each error says what the value must be; the loader prefixes
// the variable's name.

func intIn(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("must be an integer from %d to %d, not %q", lo, hi, v)
	}
	return n, nil
}

func boolean(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("must be true or false, not %q", v)
	}
	return b, nil
}

func seconds(v string, lo, hi int, dst *time.Duration) error {
	n, err := intIn(v, lo, hi)
	if err != nil {
		return fmt.Errorf("must be a number of seconds from %d to %d, not %q", lo, hi, v)
	}
	*dst = time.Duration(n) * time.Second
	return nil
}

var days = regexp.MustCompile(`^(\d+)d(.*)$`)

// duration parses a positive duration as Directus's variables take it —
// a number of milliseconds ("900000"), or a number with a unit — in Go's
// syntax (90s, 15m, 1h30m) with days (7d, 1d12h).
func duration(v string) (time.Duration, error) {
	bad := fmt.Errorf("must be a positive duration such as 30s, 15m, 2h or 7d (or a number of milliseconds), not %q", v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > int64(100*365*24*time.Hour/time.Millisecond) {
			return 0, bad
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	var d time.Duration
	rest := v
	if m := days.FindStringSubmatch(v); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100000 {
			return 0, bad
		}
		d, rest = time.Duration(n)*24*time.Hour, m[2]
	}
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, bad
		}
		x, err := time.ParseDuration(rest)
		if err != nil {
			return 0, bad
		}
		d += x
	}
	if d <= 0 {
		return 0, bad
	}
	return d, nil
}

// list splits a comma-separated value, dropping empty entries.
func list(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func checkHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errors.New("must be an absolute http(s) URL without user info")
	}
	return nil
}

// checkRedirect accepts what httpapi.WithVerifyRedirect does: an absolute
// http(s) URL or an absolute path that is not protocol-relative.
func checkRedirect(v string) error {
	if strings.ContainsAny(v, "\\\r\n\t") {
		return errors.New("must not contain backslashes or control characters")
	}
	if strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//") {
		return nil
	}
	if checkHTTPURL(v) != nil {
		return errors.New("must be an absolute http(s) URL or a path starting with /")
	}
	return nil
}

func corsOrigins(c *config, v string) error {
	switch strings.ToLower(v) {
	case "false":
		c.CORSOrigins = nil
		return nil
	case "true", "*":
		c.CORSOrigins = []string{"*"}
		return nil
	}
	for _, o := range list(v) {
		if _, err := parseOriginPattern(o); err != nil {
			return fmt.Errorf("%q is %w", o, err)
		}
		c.CORSOrigins = append(c.CORSOrigins, strings.TrimSuffix(o, "/"))
	}
	return nil
}

// redactDSN hides the password of a connection string: a URL
// (postgres://, mysql://), PostgreSQL's key=value pairs, or a MySQL driver
// DSN (user:password@tcp(host:3306)/db).
func redactDSN(v string) string {
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	if mc, err := mysql.ParseDSN(v); err == nil && mc.Passwd != "" {
		// The driver reads the password between the first ":" and the
		// last "@" before the database name: that very span.
		return strings.Replace(v, ":"+mc.Passwd+"@", ":xxxxx@", 1)
	}
	return dsnPassword.ReplaceAllString(v, "${1}xxxxx")
}

var dsnPassword = regexp.MustCompile(`(password\s*=\s*)('[^']*'|\S+)`)

// unprefix drops a library's "users: " or "smtpmailer: " prefix from an
// error that the loader prefixes with a variable's name.
func unprefix(err error) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	for _, p := range []string{"users: ", "smtpmailer: "} {
		s = strings.TrimPrefix(s, p)
	}
	return errors.New(s)
}
