package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/httpapi"
)

func TestSessionConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(nil))
	require.NoError(t, err)
	s := c.Sessions
	assert.Nil(t, s.Secret, "a random secret per process, with a warning")
	assert.Equal(t, 15*time.Minute, s.AccessTTL)
	assert.Equal(t, 7*24*time.Hour, s.RefreshTTL)
	assert.Equal(t, httpapi.CookieOptions{Name: "directus_refresh_token", SameSite: http.SameSiteLaxMode}, s.RefreshCookie)
	assert.Equal(t, httpapi.CookieOptions{Name: "directus_session_token", SameSite: http.SameSiteLaxMode}, s.SessionCookie)
	assert.Empty(t, s.ResetAllowList)
	assert.Equal(t, limitSpec{10, 15 * time.Minute}, s.LoginAddress)
	assert.Equal(t, limitSpec{5, 15 * time.Minute}, s.LoginIP)
	assert.Equal(t, limitSpec{10, 15 * time.Minute}, s.LoginDevice)

	https, err := loadConfig(env(map[string]string{"PUBLIC_URL": "https://users.example.com"}))
	require.NoError(t, err)
	assert.True(t, https.Sessions.RefreshCookie.Secure, "Secure by default behind an https PUBLIC_URL")
	assert.True(t, https.Sessions.SessionCookie.Secure)
}

func TestSessionConfigDirectusNames(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(map[string]string{
		"SECRET":                              strings.Repeat("s", 32),
		"ACCESS_TOKEN_TTL":                    "5m",
		"REFRESH_TOKEN_TTL":                   "30d",
		"REFRESH_TOKEN_COOKIE_NAME":           "rt",
		"REFRESH_TOKEN_COOKIE_DOMAIN":         "example.com",
		"REFRESH_TOKEN_COOKIE_SECURE":         "true",
		"REFRESH_TOKEN_COOKIE_SAME_SITE":      "None",
		"SESSION_COOKIE_NAME":                 "st",
		"SESSION_COOKIE_SAME_SITE":            "strict",
		"PASSWORD_RESET_URL_ALLOW_LIST":       "https://app.example.com/reset, https://app.example.com/r2",
		"RATE_LIMITER_LOGIN_ADDRESS_POINTS":   "20",
		"RATE_LIMITER_LOGIN_ADDRESS_DURATION": "3600",
		"RATE_LIMITER_LOGIN_IP_POINTS":        "3",
		"RATE_LIMITER_LOGIN_DEVICE_DURATION":  "60",
	}))
	require.NoError(t, err)
	s := c.Sessions
	assert.Equal(t, []byte(strings.Repeat("s", 32)), s.Secret)
	assert.Equal(t, 5*time.Minute, s.AccessTTL)
	assert.Equal(t, 30*24*time.Hour, s.RefreshTTL)
	assert.Equal(t, httpapi.CookieOptions{Name: "rt", Domain: "example.com", Secure: true, SameSite: http.SameSiteNoneMode}, s.RefreshCookie)
	assert.Equal(t, httpapi.CookieOptions{Name: "st", SameSite: http.SameSiteStrictMode}, s.SessionCookie)
	assert.Equal(t, []string{"https://app.example.com/reset", "https://app.example.com/r2"}, s.ResetAllowList)
	assert.Equal(t, limitSpec{20, time.Hour}, s.LoginAddress)
	assert.Equal(t, limitSpec{3, 15 * time.Minute}, s.LoginIP)
	assert.Equal(t, limitSpec{10, time.Minute}, s.LoginDevice)

	ms, err := loadConfig(env(map[string]string{"ACCESS_TOKEN_TTL": "900000"}))
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, ms.Sessions.AccessTTL, "a number is milliseconds, as in Directus")
}

func TestSessionConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(env(map[string]string{
		"SECRET":                         "too-short",
		"ACCESS_TOKEN_TTL":               "soon",
		"REFRESH_TOKEN_TTL":              "-1",
		"REFRESH_TOKEN_COOKIE_NAME":      "a b",
		"REFRESH_TOKEN_COOKIE_SAME_SITE": "none",
		"SESSION_COOKIE_SECURE":          "maybe",
		"SESSION_COOKIE_SAME_SITE":       "sometimes",
		"RATE_LIMITER_LOGIN_IP_POINTS":   "0",
		"RATE_LIMITER_LOGIN_IP_DURATION": "x",
	}))
	require.Error(t, err)
	for _, name := range []string{"SECRET", "ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "REFRESH_TOKEN_COOKIE_NAME",
		"REFRESH_TOKEN_COOKIE_SAME_SITE", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_SAME_SITE",
		"RATE_LIMITER_LOGIN_IP_POINTS", "RATE_LIMITER_LOGIN_IP_DURATION"} {
		assert.Contains(t, err.Error(), name+":", name)
	}
	assert.NotContains(t, err.Error(), "too-short", "the secret is not echoed")
	_, err = loadConfig(env(map[string]string{"ACCESS_TOKEN_TTL": "2h", "REFRESH_TOKEN_TTL": "1h"}))
	assert.ErrorContains(t, err, "REFRESH_TOKEN_TTL: must not be shorter than ACCESS_TOKEN_TTL")
}
