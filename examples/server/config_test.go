package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(nil))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8055", c.addr())
	assert.Empty(t, c.PublicURL, "set from the listening address by run")
	assert.Equal(t, "sqlite3", c.DBClient)
	assert.Equal(t, "users.db", c.DBFilename)
	assert.Empty(t, c.SMTPHost, "no SMTP: the log mailer")
	assert.Empty(t, c.AdminToken, "no admin unless configured")
	assert.Equal(t, uint32(19456), c.Argon2.Memory)
	assert.Equal(t, uint32(2), c.Argon2.Time)
	assert.Equal(t, uint8(1), c.Argon2.Threads)
	assert.True(t, c.RegisterLimitEnabled)
	assert.Equal(t, 5, c.RegisterLimitPoints)
	assert.Equal(t, time.Minute, c.RegisterLimitDuration)
	assert.Equal(t, 587, c.SMTPPort)
}

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
		"EMAIL_FROM":                         "App <app@example.com>",
		"USER_REGISTER_URL_ALLOW_LIST":       "https://app.example.com/verify, https://*.preview.example.com/verify",
		"USER_INVITE_URL_ALLOW_LIST":         "https://app.example.com/accept",
		"ADMIN_TOKEN":                        "0123456789abcdef-admin",
		"IP_TRUST_PROXY":                     "10.0.0.0/8, 192.168.1.1",
		"HASH_MEMORY_COST":                   "65536",
		"HASH_TIME_COST":                     "3",
		"HASH_PARALLELISM":                   "4",
		"RATE_LIMITER_REGISTRATION_ENABLED":  "false",
		"RATE_LIMITER_REGISTRATION_POINTS":   "100",
		"RATE_LIMITER_REGISTRATION_DURATION": "10",
	}))
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:9000", c.addr())
	assert.Equal(t, "https://users.example.com", c.PublicURL)
	assert.Equal(t, "pg", c.DBClient)
	assert.Equal(t, "postgres://u@db/app", c.DBConnectionString)
	assert.True(t, c.SMTPSecure)
	assert.Equal(t, 465, c.SMTPPort, "implicit TLS defaults to 465")
	assert.Equal(t, " secret with spaces ", c.SMTPPassword, "passwords are taken as given")
	assert.Equal(t, []string{"https://app.example.com/verify", "https://*.preview.example.com/verify"}, c.RegisterAllowList)
	assert.Equal(t, []string{"https://app.example.com/accept"}, c.InviteAllowList)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}, c.TrustedProxies)
	assert.Equal(t, uint32(65536), c.Argon2.Memory)
	assert.Equal(t, uint32(3), c.Argon2.Time)
	assert.Equal(t, uint8(4), c.Argon2.Threads)
	assert.False(t, c.RegisterLimitEnabled)
	assert.Equal(t, 100, c.RegisterLimitPoints)
	assert.Equal(t, 10*time.Second, c.RegisterLimitDuration)
}

func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"port":         {map[string]string{"PORT": "http"}, "PORT"},
		"port range":   {map[string]string{"PORT": "70000"}, "PORT"},
		"db client":    {map[string]string{"DB_CLIENT": "oracledb"}, "DB_CLIENT"},
		"pg no dsn":    {map[string]string{"DB_CLIENT": "pg"}, "DB_CONNECTION_STRING"},
		"mysql no db":  {map[string]string{"DB_CLIENT": "mysql", "DB_HOST": "db"}, "DB_CONNECTION_STRING"},
		"mysql port":   {map[string]string{"DB_CLIENT": "mysql", "DB_HOST": "db", "DB_DATABASE": "app", "DB_PORT": "0"}, "DB_PORT"},
		"mysql dsn":    {map[string]string{"DB_CLIENT": "mysql", "DB_CONNECTION_STRING": "app:pw@db:3306/app"}, "DB_CONNECTION_STRING"},
		"mysql url":    {map[string]string{"DB_CLIENT": "mysql", "DB_CONNECTION_STRING": "mysql://app:pw@db:3306"}, "DB_CONNECTION_STRING"},
		"public url":   {map[string]string{"PUBLIC_URL": "example.com"}, "PUBLIC_URL"},
		"smtp port":    {map[string]string{"EMAIL_SMTP_PORT": "0"}, "EMAIL_SMTP_PORT"},
		"tls both":     {map[string]string{"EMAIL_SMTP_SECURE": "true", "EMAIL_SMTP_IGNORE_TLS": "true"}, "EMAIL_SMTP_IGNORE_TLS"},
		"bool":         {map[string]string{"EMAIL_SMTP_SECURE": "yes please"}, "EMAIL_SMTP_SECURE"},
		"short token":  {map[string]string{"ADMIN_TOKEN": "admin"}, "ADMIN_TOKEN"},
		"proxy":        {map[string]string{"IP_TRUST_PROXY": "proxy.local"}, "IP_TRUST_PROXY"},
		"hash memory":  {map[string]string{"HASH_MEMORY_COST": "-1"}, "HASH_MEMORY_COST"},
		"hash threads": {map[string]string{"HASH_PARALLELISM": "300"}, "HASH_PARALLELISM"},
		"rate points":  {map[string]string{"RATE_LIMITER_REGISTRATION_POINTS": "0"}, "RATE_LIMITER_REGISTRATION_POINTS"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(env(tc.env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// The SMTP password never appears in a configuration error.
func TestLoadConfigErrorHidesPassword(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(env(map[string]string{"EMAIL_SMTP_PASSWORD": "hunter2-secret", "PORT": "x"}))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2-secret")
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
