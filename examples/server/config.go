package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
)

// config is the server's configuration, read from environment variables
// named like Directus's where Directus has one.
type config struct {
	Host      string // HOST, default 127.0.0.1
	Port      int    // PORT, default 8055
	PublicURL string // PUBLIC_URL, default http://<listening address>

	DBClient           string // DB_CLIENT: sqlite3 (default), pg or mysql (MySQL and MariaDB)
	DBFilename         string // DB_FILENAME, default users.db (sqlite3)
	DBConnectionString string // DB_CONNECTION_STRING (pg; mysql, instead of the DB_* below)
	DBHost             string // DB_HOST (mysql)
	DBPort             int    // DB_PORT, default 3306 (mysql)
	DBDatabase         string // DB_DATABASE (mysql)
	DBUser             string // DB_USER (mysql)
	DBPassword         string // DB_PASSWORD (mysql)

	SMTPHost      string // EMAIL_SMTP_HOST; empty: mail is printed (log mailer)
	SMTPPort      int    // EMAIL_SMTP_PORT, default 587 (465 with EMAIL_SMTP_SECURE)
	SMTPUser      string // EMAIL_SMTP_USER
	SMTPPassword  string // EMAIL_SMTP_PASSWORD
	SMTPSecure    bool   // EMAIL_SMTP_SECURE: implicit TLS
	SMTPIgnoreTLS bool   // EMAIL_SMTP_IGNORE_TLS: no TLS at all (local relays)
	EmailFrom     string // EMAIL_FROM, default no-reply@example.com

	RegisterAllowList []string // USER_REGISTER_URL_ALLOW_LIST, comma-separated
	InviteAllowList   []string // USER_INVITE_URL_ALLOW_LIST, comma-separated

	AdminToken     string         // ADMIN_TOKEN; empty: no request is admin
	TrustedProxies []netip.Prefix // IP_TRUST_PROXY: comma-separated addresses or CIDR prefixes

	Argon2 users.Argon2id // HASH_MEMORY_COST (KiB), HASH_TIME_COST, HASH_PARALLELISM

	// Registration rate limit per client IP, as Directus names it.
	RegisterLimitEnabled  bool          // RATE_LIMITER_REGISTRATION_ENABLED, default true
	RegisterLimitPoints   int           // RATE_LIMITER_REGISTRATION_POINTS, default 5
	RegisterLimitDuration time.Duration // RATE_LIMITER_REGISTRATION_DURATION (seconds), default 60

	// Mail per recipient address (no Directus equivalent): what anonymous
	// requests may make the server send (verification mail), and, apart,
	// what administrators' invitations may.
	MailLimitPoints        int           // RATE_LIMITER_MAIL_POINTS, default 5
	MailLimitDuration      time.Duration // RATE_LIMITER_MAIL_DURATION (seconds), default 3600
	AdminMailLimitPoints   int           // RATE_LIMITER_MAIL_ADMIN_POINTS, default 10
	AdminMailLimitDuration time.Duration // RATE_LIMITER_MAIL_ADMIN_DURATION (seconds), default 3600

	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT (seconds), default 15

	// Mail delivery (no Directus equivalent; Go durations such as "30s").
	// Zero: the library's default.
	MailBackoff     time.Duration // MAIL_RETRY_BACKOFF: wait after a first failure (30s)
	MailSendTimeout time.Duration // MAIL_SEND_TIMEOUT: one SMTP send (1m)
	MailLease       time.Duration // MAIL_LEASE: a dead worker's mail is retried after it (5m)

	Sessions sessionConfig // SECRET, *_TOKEN_TTL, cookies, reset allow-list, login limits: sessions.go
}

// loadConfig reads the configuration through getenv and validates it. Every
// problem is reported, by variable name, in one error.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Host:                  "127.0.0.1",
		Port:                  8055,
		DBClient:              "sqlite3",
		DBFilename:            "users.db",
		EmailFrom:             "no-reply@example.com",
		Argon2:                *users.DefaultArgon2id(),
		RegisterLimitEnabled:  true,
		RegisterLimitPoints:   5,
		RegisterLimitDuration: 60 * time.Second,
		ShutdownTimeout:       15 * time.Second,
	}
	c.MailLimitPoints, c.MailLimitDuration = 5, time.Hour            // the library's defaults
	c.AdminMailLimitPoints, c.AdminMailLimitDuration = 10, time.Hour // the library's defaults
	var errs []error
	bad := func(name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, a...)))
	}
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	integer := func(name string, dst *int, lo, hi int) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			bad(name, "must be an integer from %d to %d, not %q", lo, hi, v)
			return
		}
		*dst = n
	}
	boolean := func(name string, dst *bool) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(name, "must be true or false, not %q", v)
			return
		}
		*dst = b
	}
	list := func(name string) []string {
		var out []string
		for _, e := range strings.Split(getenv(name), ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out
	}

	str("HOST", &c.Host)
	integer("PORT", &c.Port, 0, 65535)
	str("PUBLIC_URL", &c.PublicURL)
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("PUBLIC_URL", "must be an absolute http(s) URL")
		}
	}

	str("DB_CLIENT", &c.DBClient)
	switch c.DBClient {
	case "sqlite3", "sqlite":
		c.DBClient = "sqlite3"
		str("DB_FILENAME", &c.DBFilename)
	case "pg", "postgres", "postgresql":
		c.DBClient = "pg"
		str("DB_CONNECTION_STRING", &c.DBConnectionString)
		if c.DBConnectionString == "" {
			bad("DB_CONNECTION_STRING", "is required with DB_CLIENT=pg")
		}
	case "mysql":
		str("DB_CONNECTION_STRING", &c.DBConnectionString)
		str("DB_HOST", &c.DBHost)
		c.DBPort = 3306
		integer("DB_PORT", &c.DBPort, 1, 65535)
		str("DB_DATABASE", &c.DBDatabase)
		str("DB_USER", &c.DBUser)
		c.DBPassword = getenv("DB_PASSWORD")
		if _, err := c.mysqlDSN(); err != nil {
			bad("DB_CONNECTION_STRING", "%v", err)
		}
	default:
		bad("DB_CLIENT", "must be sqlite3, pg or mysql, not %q", c.DBClient)
	}

	str("EMAIL_SMTP_HOST", &c.SMTPHost)
	boolean("EMAIL_SMTP_SECURE", &c.SMTPSecure)
	boolean("EMAIL_SMTP_IGNORE_TLS", &c.SMTPIgnoreTLS)
	if c.SMTPSecure && c.SMTPIgnoreTLS {
		bad("EMAIL_SMTP_IGNORE_TLS", "cannot be true with EMAIL_SMTP_SECURE=true")
	}
	c.SMTPPort = 587
	if c.SMTPSecure {
		c.SMTPPort = 465
	}
	integer("EMAIL_SMTP_PORT", &c.SMTPPort, 1, 65535)
	str("EMAIL_SMTP_USER", &c.SMTPUser)
	c.SMTPPassword = getenv("EMAIL_SMTP_PASSWORD")
	str("EMAIL_FROM", &c.EmailFrom)

	c.RegisterAllowList = list("USER_REGISTER_URL_ALLOW_LIST")
	c.InviteAllowList = list("USER_INVITE_URL_ALLOW_LIST")

	c.AdminToken = strings.TrimSpace(getenv("ADMIN_TOKEN"))
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		bad("ADMIN_TOKEN", "must be at least 16 characters")
	}
	for _, e := range list("IP_TRUST_PROXY") {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil {
				bad("IP_TRUST_PROXY", "%q is neither an IP address nor a CIDR prefix", e)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}

	mem, tc, par := int(c.Argon2.Memory), int(c.Argon2.Time), int(c.Argon2.Threads)
	integer("HASH_MEMORY_COST", &mem, 8, 4<<20)
	integer("HASH_TIME_COST", &tc, 1, 1024)
	integer("HASH_PARALLELISM", &par, 1, 255)
	c.Argon2.Memory, c.Argon2.Time, c.Argon2.Threads = uint32(mem), uint32(tc), uint8(par)

	boolean("RATE_LIMITER_REGISTRATION_ENABLED", &c.RegisterLimitEnabled)
	integer("RATE_LIMITER_REGISTRATION_POINTS", &c.RegisterLimitPoints, 1, 1<<30)
	secs := int(c.RegisterLimitDuration / time.Second)
	integer("RATE_LIMITER_REGISTRATION_DURATION", &secs, 1, 1<<30)
	c.RegisterLimitDuration = time.Duration(secs) * time.Second
	seconds := func(name string, dst *time.Duration) {
		n := int(*dst / time.Second)
		integer(name, &n, 1, 1<<30)
		*dst = time.Duration(n) * time.Second
	}
	integer("RATE_LIMITER_MAIL_POINTS", &c.MailLimitPoints, 1, 1<<30)
	seconds("RATE_LIMITER_MAIL_DURATION", &c.MailLimitDuration)
	integer("RATE_LIMITER_MAIL_ADMIN_POINTS", &c.AdminMailLimitPoints, 1, 1<<30)
	seconds("RATE_LIMITER_MAIL_ADMIN_DURATION", &c.AdminMailLimitDuration)

	sd := int(c.ShutdownTimeout / time.Second)
	integer("SHUTDOWN_TIMEOUT", &sd, 0, 3600)
	c.ShutdownTimeout = time.Duration(sd) * time.Second

	dur := func(name string, dst *time.Duration) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(name, "must be a positive duration such as 30s or 5m, not %q", v)
			return
		}
		*dst = d
	}
	dur("MAIL_RETRY_BACKOFF", &c.MailBackoff)
	dur("MAIL_SEND_TIMEOUT", &c.MailSendTimeout)
	dur("MAIL_LEASE", &c.MailLease)

	c.Sessions = loadSessionConfig(getenv, c.PublicURL, bad)

	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// delivery is the mail delivery policy: the library's defaults with the
// MAIL_* overrides.
func (c config) delivery() users.DeliveryOptions {
	d := users.DefaultDeliveryOptions()
	if c.MailBackoff > 0 {
		d.InitialBackoff = c.MailBackoff
	}
	if c.MailSendTimeout > 0 {
		d.SendTimeout = c.MailSendTimeout
	}
	if c.MailLease > 0 {
		d.Lease = c.MailLease
	}
	return d
}

// addr is the address the server listens on.
func (c config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }
