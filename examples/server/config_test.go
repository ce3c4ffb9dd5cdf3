package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// names is every variable of the table.
func names() map[string]bool {
	out := map[string]bool{}
	for _, sec := range sections() {
		for _, s := range sec.settings {
			out[s.name] = true
		}
	}
	return out
}

func TestSettingsTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, sec := range sections() {
		require.NotEmpty(t, sec.title)
		for _, s := range sec.settings {
			assert.Regexp(t, `^[A-Z][A-Z0-9_]*$`, s.name)
			assert.False(t, seen[s.name], "%s twice", s.name)
			seen[s.name] = true
			assert.NotEmpty(t, s.help, s.name)
			assert.NotNil(t, s.parse, s.name)
			assert.False(t, s.def != "" && s.defText != "", "%s: def or defText, not both", s.name)
			if s.secret {
				assert.Empty(t, s.def, "%s: a secret has no default", s.name)
			}
			if s.def == "" && s.defText == "" {
				assert.Regexp(t, `(?i)default|required|none|with `, s.help, "%s: say what unset means", s.name)
			}
		}
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(nil))
	require.NoError(t, err, "every default parses and passes the checks")
	assert.Equal(t, "127.0.0.1:8055", c.addr())
	assert.Empty(t, c.PublicURL, "set from the listening address by run")
	assert.Equal(t, 15*time.Second, c.ShutdownTimeout)
	assert.Equal(t, slog.LevelInfo, c.LogLevel)
	assert.Equal(t, "sqlite3", c.DBClient)
	assert.Equal(t, "users.db", c.DBFilename)
	assert.Equal(t, "log", c.EmailTransport, "no SMTP host: mail is printed")
	assert.Equal(t, "no-reply@example.com", c.EmailFrom)
	assert.True(t, c.EmailVerifySetup)
	assert.Empty(t, c.AdminToken, "no admin unless configured")
	assert.Equal(t, users.Argon2id{Memory: 19456, Time: 2, Threads: 1}, c.Argon2, "users.Argon2id{}'s defaults, spelt out")
	assert.Equal(t, libraryDelivery, c.Delivery, "the library's delivery policy")
	assert.Equal(t, 7*24*time.Hour, c.VerifyTTL)
	assert.Equal(t, 7*24*time.Hour, c.InviteTTL)
	assert.Equal(t, 1024, c.HashQueue)
	assert.Equal(t, 5*time.Second, c.HashBudget)
	assert.True(t, c.RegisterLimitEnabled)
	assert.Equal(t, 5, c.RegisterLimitPoints)
	assert.Equal(t, time.Minute, c.RegisterLimitDuration)
	assert.Equal(t, [2]int{5, 10}, [2]int{c.MailLimitPoints, c.AdminMailLimitPoints})
	assert.Equal(t, limitSpec{10, 15 * time.Minute}, c.Sessions.LoginAddress)
	assert.Equal(t, limitSpec{5, 15 * time.Minute}, c.Sessions.LoginIP)
	assert.Equal(t, limitSpec{10, 15 * time.Minute}, c.Sessions.LoginDevice)
	// Directus's CORS defaults.
	assert.False(t, c.CORSEnabled)
	assert.Empty(t, c.CORSOrigins)
	assert.Equal(t, []string{"GET", "POST", "PATCH", "DELETE"}, c.CORSMethods)
	assert.Equal(t, []string{"Content-Type", "Authorization"}, c.CORSAllowedHeaders)
	assert.Equal(t, []string{"Content-Range"}, c.CORSExposedHeaders)
	assert.True(t, c.CORSCredentials)
	assert.Equal(t, 18000, c.CORSMaxAge)
	assert.False(t, c.MetricsEnabled)
	assert.Equal(t, libraryHealth, c.Health, "the library's thresholds")
}

// libraryDelivery and libraryHealth are the defaults users.Delivery and
// users.HealthThresholds document (the library's tests hold it to them;
// MailerProbeTimeout, HashWaiting and HashShedWindow have no variable):
// the table's defaults agree, so -h tells the truth.
var (
	libraryDelivery = users.Delivery{MaxAttempts: 8, InitialBackoff: 30 * time.Second, MaxBackoff: time.Hour,
		Lease: 5 * time.Minute, SendTimeout: time.Minute, BatchSize: 50, Concurrency: 4, PollInterval: 5 * time.Second}
	libraryHealth = users.HealthThresholds{DatabaseResponseTime: 150 * time.Millisecond, OutboxPending: 1000,
		OutboxAge: 15 * time.Minute, DeliveryErrorWindow: 15 * time.Minute, MailerProbeInterval: 30 * time.Second}
)

func TestLoadConfigDirectusNames(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(map[string]string{
		"HOST":                               "0.0.0.0",
		"PORT":                               "9000",
		"PUBLIC_URL":                         "https://users.example.com",
		"DB_CLIENT":                          "pg",
		"DB_CONNECTION_STRING":               "postgres://u@db/app",
		"EMAIL_SMTP_HOST":                    "smtp.example.com",
		"EMAIL_SMTP_SECURE":                  "true",
		"EMAIL_SMTP_USER":                    "mailer",
		"EMAIL_SMTP_PASSWORD":                " secret with spaces ",
		"EMAIL_SMTP_NAME":                    "users.example.com",
		"EMAIL_FROM":                         "App <app@example.com>",
		"USER_REGISTER_URL_ALLOW_LIST":       "https://app.example.com/verify, https://*.preview.example.com/verify",
		"USER_INVITE_URL_ALLOW_LIST":         "https://app.example.com/accept",
		"EMAIL_VERIFICATION_TOKEN_TTL":       "2d",
		"USER_INVITE_TOKEN_TTL":              "36h",
		"ADMIN_TOKEN":                        "0123456789abcdef-admin",
		"IP_TRUST_PROXY":                     "10.0.0.0/8, 192.168.1.1",
		"HASH_MEMORY_COST":                   "65536",
		"HASH_TIME_COST":                     "3",
		"HASH_PARALLELISM":                   "4",
		"RATE_LIMITER_REGISTRATION_ENABLED":  "false",
		"RATE_LIMITER_REGISTRATION_POINTS":   "100",
		"RATE_LIMITER_REGISTRATION_DURATION": "10",
		"CORS_ENABLED":                       "true",
		"CORS_ORIGIN":                        "https://app.example.com, https://*.example.org",
		"CORS_MAX_AGE":                       "600",
		"METRICS_ENABLED":                    "true",
		"METRICS_TOKENS":                     "scraper-token-0123456789",
		"LOG_LEVEL":                          "warn",
		"LOG_STYLE":                          "raw",
		"PROJECT_NAME":                       "Acme",
		"DB_HEALTHCHECK_THRESHOLD":           "300",
	}))
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:9000", c.addr())
	assert.Equal(t, "https://users.example.com", c.PublicURL)
	assert.Equal(t, "pg", c.DBClient)
	assert.Equal(t, "postgres://u@db/app", c.DBConnectionString)
	assert.Equal(t, "smtp", c.EmailTransport)
	assert.True(t, c.SMTPSecure)
	assert.Equal(t, 465, c.SMTPPort, "implicit TLS defaults to 465")
	assert.Equal(t, " secret with spaces ", c.SMTPPassword, "passwords are taken as given")
	assert.Equal(t, "users.example.com", c.SMTPName)
	assert.Equal(t, []string{"https://app.example.com/verify", "https://*.preview.example.com/verify"}, c.RegisterAllowList)
	assert.Equal(t, []string{"https://app.example.com/accept"}, c.InviteAllowList)
	assert.Equal(t, 48*time.Hour, c.VerifyTTL)
	assert.Equal(t, 36*time.Hour, c.InviteTTL)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}, c.TrustedProxies)
	assert.Equal(t, uint32(65536), c.Argon2.Memory)
	assert.Equal(t, uint32(3), c.Argon2.Time)
	assert.Equal(t, uint8(4), c.Argon2.Threads)
	assert.False(t, c.RegisterLimitEnabled)
	assert.Equal(t, 100, c.RegisterLimitPoints)
	assert.Equal(t, 10*time.Second, c.RegisterLimitDuration)
	assert.True(t, c.CORSEnabled)
	assert.Equal(t, []string{"https://app.example.com", "https://*.example.org"}, c.CORSOrigins)
	assert.Equal(t, 600, c.CORSMaxAge)
	assert.True(t, c.MetricsEnabled)
	assert.Equal(t, []string{"scraper-token-0123456789"}, c.MetricsTokens)
	assert.Equal(t, slog.LevelWarn, c.LogLevel)
	assert.True(t, c.LogJSON)
	assert.Equal(t, "Acme", c.ProjectName)
	assert.Equal(t, 300*time.Millisecond, c.Health.DatabaseResponseTime)
}

// variableLine is how every line of a configuration error starts: with a
// variable's name (EMAIL_SMTP_* for the SMTP set-up as a whole).
var variableLine = regexp.MustCompile(`^([A-Z][A-Z0-9_]*\*?)[ :=]`)

func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	known := names()
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"port":              {map[string]string{"PORT": "http"}, "PORT: must be an integer from 0 to 65535"},
		"port range":        {map[string]string{"PORT": "70000"}, "PORT"},
		"db client":         {map[string]string{"DB_CLIENT": "oracle"}, "DB_CLIENT: must be"},
		"pg no dsn":         {map[string]string{"DB_CLIENT": "pg"}, "DB_CONNECTION_STRING is required with DB_CLIENT=pg"},
		"public url":        {map[string]string{"PUBLIC_URL": "example.com"}, "PUBLIC_URL"},
		"smtp port":         {map[string]string{"EMAIL_SMTP_PORT": "0"}, "EMAIL_SMTP_PORT"},
		"bool":              {map[string]string{"EMAIL_SMTP_SECURE": "yes please"}, "EMAIL_SMTP_SECURE: must be true or false"},
		"transport":         {map[string]string{"EMAIL_TRANSPORT": "sendmail"}, "EMAIL_TRANSPORT: must be smtp or log"},
		"smtp without host": {map[string]string{"EMAIL_TRANSPORT": "smtp"}, "EMAIL_SMTP_HOST is required with EMAIL_TRANSPORT=smtp"},
		"password without user": {map[string]string{"EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_PASSWORD": "pw"},
			"EMAIL_SMTP_PASSWORD is set but EMAIL_SMTP_USER is empty"},
		"password in the clear": {map[string]string{"EMAIL_SMTP_HOST": "smtp.example.com", "EMAIL_SMTP_IGNORE_TLS": "true",
			"EMAIL_SMTP_USER": "u", "EMAIL_SMTP_PASSWORD": "pw"}, "EMAIL_SMTP_IGNORE_TLS=true with EMAIL_SMTP_USER would send the SMTP password in the clear"},
		"from":                {map[string]string{"EMAIL_FROM": "not an address"}, "EMAIL_FROM: is not an address"},
		"smtp host with port": {map[string]string{"EMAIL_SMTP_HOST": "smtp.example.com:587"}, `EMAIL_SMTP_HOST: "smtp.example.com:587" includes a port: set EMAIL_SMTP_PORT instead`},
		"smtp host url":       {map[string]string{"EMAIL_SMTP_HOST": "smtp://smtp.example.com"}, "EMAIL_SMTP_HOST: must be a host name or an IP address"},
		"helo name":           {map[string]string{"EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_NAME": "my host"}, "EMAIL_SMTP_NAME: must be a host name"},
		"short token":         {map[string]string{"ADMIN_TOKEN": "admin"}, "ADMIN_TOKEN: must be at least 16 characters"},
		"admin email":         {map[string]string{"ADMIN_EMAIL": "root"}, "ADMIN_EMAIL"},
		"admin no password":   {map[string]string{"ADMIN_EMAIL": "root@example.com"}, "ADMIN_PASSWORD is required with ADMIN_EMAIL"},
		"proxy":               {map[string]string{"IP_TRUST_PROXY": "proxy.local"}, "IP_TRUST_PROXY"},
		"hash memory":         {map[string]string{"HASH_MEMORY_COST": "-1"}, "HASH_MEMORY_COST"},
		"hash threads":        {map[string]string{"HASH_PARALLELISM": "300"}, "HASH_PARALLELISM"},
		"hash memory/threads": {map[string]string{"HASH_MEMORY_COST": "16", "HASH_PARALLELISM": "4"}, "HASH_MEMORY_COST (16) must be at least 8 × HASH_PARALLELISM (4)"},
		"hash budget":         {map[string]string{"HASH_WAIT_BUDGET": "soon"}, "HASH_WAIT_BUDGET"},
		"rate points":         {map[string]string{"RATE_LIMITER_REGISTRATION_POINTS": "0"}, "RATE_LIMITER_REGISTRATION_POINTS"},
		"login duration":      {map[string]string{"RATE_LIMITER_LOGIN_ADDRESS_DURATION": "15m"}, "RATE_LIMITER_LOGIN_ADDRESS_DURATION: must be a number of seconds"},
		"lease below timeout": {map[string]string{"MAIL_LEASE": "10s"}, "MAIL_SEND_TIMEOUT (1m0s) must be below MAIL_LEASE (10s)"},
		"backoff above max":   {map[string]string{"MAIL_RETRY_BACKOFF": "2h"}, "MAIL_RETRY_BACKOFF (2h0m0s) must not exceed MAIL_MAX_BACKOFF (1h0m0s)"},
		"duration":            {map[string]string{"MAIL_SEND_TIMEOUT": "30 seconds"}, "MAIL_SEND_TIMEOUT: must be a positive duration such as 30s"},
		"ttl":                 {map[string]string{"USER_INVITE_TOKEN_TTL": "forever"}, "USER_INVITE_TOKEN_TTL"},
		"verify redirect":     {map[string]string{"USER_REGISTER_VERIFY_REDIRECT": "//evil.example"}, "USER_REGISTER_VERIFY_REDIRECT"},
		"cors origin":         {map[string]string{"CORS_ORIGIN": "https://app.example.com/path"}, "CORS_ORIGIN"},
		"metrics token":       {map[string]string{"METRICS_TOKENS": "short"}, "METRICS_TOKENS: token 1 must be at least 16 characters"},
		"log level":           {map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		"log style":           {map[string]string{"LOG_STYLE": "fancy"}, "LOG_STYLE: must be pretty or raw"},
		"probe interval":      {map[string]string{"HEALTH_EMAIL_PROBE_INTERVAL": "-5s"}, "HEALTH_EMAIL_PROBE_INTERVAL"},
		"mysql no db":         {map[string]string{"DB_CLIENT": "mysql", "DB_HOST": "db"}, "DB_CONNECTION_STRING"},
		"mysql port":          {map[string]string{"DB_CLIENT": "mysql", "DB_HOST": "db", "DB_DATABASE": "app", "DB_PORT": "0"}, "DB_PORT"},
		"mysql dsn":           {map[string]string{"DB_CLIENT": "mysql", "DB_CONNECTION_STRING": "app:pw@db:3306/app"}, "DB_CONNECTION_STRING"},
		"mysql url":           {map[string]string{"DB_CLIENT": "mysql", "DB_CONNECTION_STRING": "mysql://app:pw@db:3306"}, "DB_CONNECTION_STRING"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(env(tc.env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			lines := strings.Split(strings.TrimPrefix(err.Error(), "configuration: "), "\n")
			for _, line := range lines {
				m := variableLine.FindStringSubmatch(line)
				require.NotNil(t, m, "%q does not start with a variable's name", line)
				assert.True(t, known[m[1]] || m[1] == "EMAIL_SMTP_*", "%q names no variable of the table", line)
			}
			assert.NotRegexp(t, `\b(SendTimeout|Lease|InitialBackoff|MaxBackoff|Memory|Threads|HeloName|Username|Password|TLSMode)\b`, err.Error(), "no Go field names")
		})
	}
}

// The values users.New judges by the library's own rules stop the start
// with an error that names the variable, as the loader's do.
func TestManagerOptionErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"project name":        {map[string]string{"PROJECT_NAME": "Acme \u202egnp.exe"}, "configuration: PROJECT_NAME: \"project_name\" must not contain"},
		"register allow-list": {map[string]string{"USER_REGISTER_URL_ALLOW_LIST": "https://app.example.com/v, https://good@evil.example/"}, `configuration: USER_REGISTER_URL_ALLOW_LIST: allow-list entry "https://good@evil.example/"`},
		"invite allow-list":   {map[string]string{"USER_INVITE_URL_ALLOW_LIST": "javascript:alert(1)"}, `configuration: USER_INVITE_URL_ALLOW_LIST: allow-list entry "javascript:alert(1)": uses a forbidden scheme`},
		"reset allow-list":    {map[string]string{"PASSWORD_RESET_URL_ALLOW_LIST": "/reset"}, `configuration: PASSWORD_RESET_URL_ALLOW_LIST: allow-list entry "/reset"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"PORT": "0", "DB_FILENAME": filepath.Join(t.TempDir(), "users.db"), "EMAIL_TRANSPORT": "log",
				"HASH_MEMORY_COST": "1024", "HASH_TIME_COST": "1", "HASH_PARALLELISM": "1"}
			maps.Copy(vars, tc.env)
			err := run(context.Background(), func(k string) string { return vars[k] }, io.Discard, slog.New(slog.DiscardHandler), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Several problems are reported together, each naming its variable.
func TestLoadConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(env(map[string]string{"PORT": "x", "LOG_LEVEL": "loud", "CORS_MAX_AGE": "-1"}))
	require.Error(t, err)
	for _, name := range []string{"PORT", "LOG_LEVEL", "CORS_MAX_AGE"} {
		assert.Contains(t, err.Error(), name+": ")
	}
}

// Secrets never appear in a configuration error.
func TestLoadConfigErrorHidesSecrets(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(env(map[string]string{"EMAIL_SMTP_PASSWORD": "hunter2-secret", "PORT": "x",
		"ADMIN_PASSWORD": "admin-secret-pw", "ADMIN_TOKEN": "token-secret-0123456789", "METRICS_TOKENS": "metrics-secret-0123456789,x"}))
	require.Error(t, err)
	for _, s := range []string{"hunter2-secret", "admin-secret-pw", "token-secret-0123456789", "metrics-secret-0123456789"} {
		assert.NotContains(t, err.Error(), s)
	}
}

// Directus's EMAIL_SMTP_SECURE and EMAIL_SMTP_IGNORE_TLS mean what
// nodemailer's secure and ignoreTLS do; secure wins.
func TestSMTPModes(t *testing.T) {
	t.Parallel()
	for vars, want := range map[[2]string]string{
		{"", ""}:           "STARTTLS",
		{"true", ""}:       "ImplicitTLS",
		{"", "true"}:       "Plain",
		{"true", "true"}:   "ImplicitTLS",
		{"false", "false"}: "STARTTLS",
	} {
		c, err := loadConfig(env(map[string]string{"EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_SECURE": vars[0], "EMAIL_SMTP_IGNORE_TLS": vars[1]}))
		require.NoError(t, err, vars)
		assert.Equal(t, want, c.smtpMode().String(), vars)
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second, "15m": 15 * time.Minute, "1h30m": 90 * time.Minute,
		"900000": 15 * time.Minute, "7": 7 * time.Millisecond, // a number is milliseconds, as in Directus
	} {
		got, err := duration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-1h", "0s", "0", "-5", "0d", "d", "7days", "1.5d", "7d-1h"} {
		_, err := duration(bad)
		assert.Error(t, err, bad)
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://app:s3cret@db:5432/users?sslmode=require": "postgres://app:xxxxx@db:5432/users?sslmode=require",
		"postgres://app@db/users?password=s3cret":             "postgres://app@db/users?password=xxxxx",
		"host=db user=app password=s3cret dbname=users":       "host=db user=app password=xxxxx dbname=users",
		"host=db password='s3 cret' dbname=users":             "host=db password=xxxxx dbname=users",
		"postgres://app@db/users":                             "postgres://app@db/users",
	} {
		got := redactDSN(in)
		assert.Equal(t, want, got, in)
		assert.NotContains(t, got, "s3cret")
	}
}

// The configuration in force is logged, one line per section, every
// variable named, every secret redacted.
func TestLogEffective(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	vars := map[string]string{
		"EMAIL_SMTP_PASSWORD":  "smtp-pw-secret",
		"ADMIN_TOKEN":          "admin-token-secret-0123",
		"ADMIN_PASSWORD":       "admin-pw-secret",
		"METRICS_TOKENS":       "metrics-token-secret-0123",
		"DB_CONNECTION_STRING": "postgres://app:db-pw-secret@db/users",
		"EMAIL_SMTP_HOST":      "smtp.example.com",
		"IP_TRUST_PROXY":       "10.0.0.0/8",
	}
	logEffective(slog.New(slog.NewTextHandler(&buf, nil)), env(vars), "http://127.0.0.1:8055")
	out := buf.String()
	for name := range names() {
		assert.Contains(t, out, " "+name+"=", name)
	}
	for _, s := range []string{"smtp-pw-secret", "admin-token-secret-0123", "admin-pw-secret", "metrics-token-secret-0123", "db-pw-secret"} {
		assert.NotContains(t, out, s)
	}
	assert.Contains(t, out, "ADMIN_TOKEN=[redacted]")
	assert.Contains(t, out, "DB_CONNECTION_STRING=postgres://app:xxxxx@db/users")
	assert.Contains(t, out, "EMAIL_SMTP_HOST=smtp.example.com")
	assert.Contains(t, out, "IP_TRUST_PROXY=10.0.0.0/8")
	assert.Contains(t, out, "PUBLIC_URL=http://127.0.0.1:8055")
	assert.Contains(t, out, "HASH_MEMORY_COST=19456", "defaults shown")
	assert.Contains(t, out, `EMAIL_SMTP_USER=(none)`)
	assert.Equal(t, len(sections()), strings.Count(out, "msg=configuration"))
}

// -h and --help print every variable with its default and meaning, and
// exit 0 without touching anything: no database, no listener.
func TestHelp(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, arg := range []string{"-h", "--help", "-help"} {
		var stdout, stderr bytes.Buffer
		code := realMain([]string{arg}, env(nil), &stdout, &stderr)
		assert.Equal(t, 0, code, arg)
		assert.Empty(t, stderr.String(), arg)
		out := stdout.String()
		assert.True(t, strings.HasPrefix(out, "Usage: server [-h]"), arg)
		for _, sec := range sections() {
			assert.Contains(t, out, "\n"+sec.title+"\n")
			for _, s := range sec.settings {
				assert.Contains(t, out, "  "+s.name, s.name)
				if s.def != "" {
					assert.Contains(t, out, "  "+s.name+" (default: "+s.def+")", s.name)
				}
				if s.defText != "" {
					assert.Contains(t, out, "  "+s.name+" (default: "+s.defText+")", s.name)
				}
				first := strings.Fields(s.help)[0]
				assert.Contains(t, out, "      "+first, s.name)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "-h creates nothing (no users.db)")
}

// A bad command line prints the usage to stderr and exits 2.
func TestBadCommandLine(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for args, want := range map[string]string{
		"-port=80": "flag provided but not defined: -port",
		"serve":    `unexpected argument "serve"`,
	} {
		var stdout, stderr bytes.Buffer
		code := realMain(strings.Fields(args), env(nil), &stdout, &stderr)
		assert.Equal(t, 2, code, args)
		assert.Empty(t, stdout.String())
		assert.Contains(t, stderr.String(), want)
		assert.Contains(t, stderr.String(), "Usage: server [-h]")
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// A configuration error stops the server with exit 1, naming the
// variable, before it opens anything.
func TestConfigErrorExits1(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := realMain(nil, env(map[string]string{"MAIL_LEASE": "10s"}), &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "MAIL_SEND_TIMEOUT (1m0s) must be below MAIL_LEASE (10s)")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// DB_CLIENT=mysql takes Directus's DB_HOST, DB_PORT, DB_DATABASE, DB_USER
// and DB_PASSWORD, or DB_CONNECTION_STRING as a driver DSN or a mysql://
// URL; the DSN always asks for interpolated parameters.
func TestLoadConfigMySQL(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"vars": {map[string]string{"DB_HOST": "db.internal", "DB_DATABASE": "app", "DB_USER": "app", "DB_PASSWORD": "p@ss:/word"},
			"app:p@ss:/word@tcp(db.internal:3306)/app?interpolateParams=true"},
		"port": {map[string]string{"DB_HOST": "::1", "DB_PORT": "3307", "DB_DATABASE": "app", "DB_USER": "root"},
			"root@tcp([::1]:3307)/app?interpolateParams=true"},
		"dsn": {map[string]string{"DB_CONNECTION_STRING": "app:pw@tcp(db:3306)/app?timeout=5s", "DB_HOST": "ignored"},
			"app:pw@tcp(db:3306)/app?interpolateParams=true&timeout=5s"},
		"url": {map[string]string{"DB_CONNECTION_STRING": "mysql://app:p%40ss@db/app?tls=skip-verify"},
			"app:p@ss@tcp(db:3306)/app?interpolateParams=true&tls=skip-verify"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc.env["DB_CLIENT"] = "mysql"
			c, err := loadConfig(env(tc.env))
			require.NoError(t, err)
			assert.Equal(t, "mysql", c.DBClient)
			dsn, err := c.mysqlDSN()
			require.NoError(t, err)
			assert.Equal(t, tc.want, dsn)
		})
	}
	// A bad connection string is reported without its password.
	_, err := loadConfig(env(map[string]string{"DB_CLIENT": "mysql", "DB_CONNECTION_STRING": "mysql://app:s3cret-pw@db:port/app"}))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret-pw")
}
