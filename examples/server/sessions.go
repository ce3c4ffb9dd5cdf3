package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
)

// sessionConfig is the configuration of logins, sessions and password
// resets, read from Directus's variables where Directus has them:
//
//	SECRET                          signs access tokens and device cookies; at least 32
//	                                characters. Unset: a random one per process (a warning at
//	                                start-up: tokens die with the process, other instances
//	                                refuse them). Directus requires it.
//	ACCESS_TOKEN_TTL                access-token lifetime (15m)
//	REFRESH_TOKEN_TTL               session lifetime after the last refresh (7d)
//	REFRESH_TOKEN_COOKIE_NAME       cookie of the refresh token in cookie mode (directus_refresh_token)
//	REFRESH_TOKEN_COOKIE_DOMAIN     its Domain (none: host-only)
//	REFRESH_TOKEN_COOKIE_SECURE     its Secure flag (true when PUBLIC_URL is https, else false;
//	                                Directus's default is false whatever the URL)
//	REFRESH_TOKEN_COOKIE_SAME_SITE  lax, strict or none (lax; none needs Secure)
//	SESSION_COOKIE_NAME, SESSION_COOKIE_DOMAIN, SESSION_COOKIE_SECURE, SESSION_COOKIE_SAME_SITE
//	                                the same for the access token in session mode
//	                                (directus_session_token, host-only, as above, lax)
//	PASSWORD_RESET_URL_ALLOW_LIST   comma-separated reset_url allow-list (none)
//
// and, with no Directus equivalent (Directus suspends an account after
// AUTH_LOGIN_ATTEMPTS failures; this server never does):
//
//	RATE_LIMITER_LOGIN_ADDRESS_POINTS, RATE_LIMITER_LOGIN_ADDRESS_DURATION
//	                                login attempts per address from unknown devices (10 per 900 s)
//	RATE_LIMITER_LOGIN_IP_POINTS, RATE_LIMITER_LOGIN_IP_DURATION
//	                                login attempts per client IP and address from unknown devices
//	                                (5 per 900 s)
//	RATE_LIMITER_LOGIN_DEVICE_POINTS, RATE_LIMITER_LOGIN_DEVICE_DURATION
//	                                login attempts per device cookie (10 per 900 s)
//
// Durations are Directus's: a number of milliseconds ("900000"), or a
// number with a unit, ms, s, m, h or d ("15m", "7d"). The device cookie
// (users_device) takes the refresh cookie's Secure flag.
type sessionConfig struct {
	Secret         []byte
	AccessTTL      time.Duration
	RefreshTTL     time.Duration
	RefreshCookie  httpapi.CookieOptions
	SessionCookie  httpapi.CookieOptions
	ResetAllowList []string
	LoginAddress   limitSpec
	LoginIP        limitSpec
	LoginDevice    limitSpec
}

// limitSpec is a sliding-window limit: Points events per Window.
type limitSpec struct {
	Points int
	Window time.Duration
}

// loadSessionConfig reads the variables above through getenv, reporting
// each problem through bad. publicURL is PUBLIC_URL as given ("" if not).
func loadSessionConfig(getenv func(string) string, publicURL string, bad func(name, format string, a ...any)) sessionConfig {
	https := strings.HasPrefix(publicURL, "https://")
	c := sessionConfig{
		AccessTTL:     users.DefaultAccessTokenTTL,
		RefreshTTL:    users.DefaultRefreshTokenTTL,
		RefreshCookie: httpapi.CookieOptions{Name: httpapi.DefaultRefreshCookieName, Secure: https, SameSite: http.SameSiteLaxMode},
		SessionCookie: httpapi.CookieOptions{Name: httpapi.DefaultSessionCookieName, Secure: https, SameSite: http.SameSiteLaxMode},
		LoginAddress:  limitSpec{10, 15 * time.Minute},
		LoginIP:       limitSpec{5, 15 * time.Minute},
		LoginDevice:   limitSpec{10, 15 * time.Minute},
	}
	if s := getenv("SECRET"); s != "" {
		if len(s) < users.MinSecretBytes {
			bad("SECRET", "must be at least %d characters", users.MinSecretBytes)
		}
		c.Secret = []byte(s)
	}
	ttl := func(name string, dst *time.Duration) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		d, err := directusDuration(v)
		if err != nil || d <= 0 {
			bad(name, `must be a positive duration such as "15m", "7d" or a number of milliseconds, not %q`, v)
			return
		}
		*dst = d
	}
	ttl("ACCESS_TOKEN_TTL", &c.AccessTTL)
	ttl("REFRESH_TOKEN_TTL", &c.RefreshTTL)
	if c.RefreshTTL < c.AccessTTL {
		bad("REFRESH_TOKEN_TTL", "must not be shorter than ACCESS_TOKEN_TTL")
	}
	cookie := func(prefix string, dst *httpapi.CookieOptions) {
		if v := strings.TrimSpace(getenv(prefix + "_NAME")); v != "" {
			if (&http.Cookie{Name: v, Value: "x"}).Valid() != nil {
				bad(prefix+"_NAME", "is not a valid cookie name: %q", v)
			} else {
				dst.Name = v
			}
		}
		dst.Domain = strings.TrimSpace(getenv(prefix + "_DOMAIN"))
		if v := strings.TrimSpace(getenv(prefix + "_SECURE")); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(prefix+"_SECURE", "must be true or false, not %q", v)
			}
			dst.Secure = b
		}
		switch v := strings.ToLower(strings.TrimSpace(getenv(prefix + "_SAME_SITE"))); v {
		case "", "lax":
			dst.SameSite = http.SameSiteLaxMode
		case "strict":
			dst.SameSite = http.SameSiteStrictMode
		case "none":
			dst.SameSite = http.SameSiteNoneMode
			if !dst.Secure {
				bad(prefix+"_SAME_SITE", "none needs %s_SECURE=true (browsers refuse it otherwise)", prefix)
			}
		default:
			bad(prefix+"_SAME_SITE", "must be lax, strict or none, not %q", v)
		}
	}
	cookie("REFRESH_TOKEN_COOKIE", &c.RefreshCookie)
	cookie("SESSION_COOKIE", &c.SessionCookie)
	for _, e := range strings.Split(getenv("PASSWORD_RESET_URL_ALLOW_LIST"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.ResetAllowList = append(c.ResetAllowList, e)
		}
	}
	limit := func(name string, dst *limitSpec) {
		if v := strings.TrimSpace(getenv(name + "_POINTS")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1<<30 {
				bad(name+"_POINTS", "must be an integer from 1 to %d, not %q", 1<<30, v)
			} else {
				dst.Points = n
			}
		}
		if v := strings.TrimSpace(getenv(name + "_DURATION")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1<<30 {
				bad(name+"_DURATION", "must be a number of seconds from 1 to %d, not %q", 1<<30, v)
			} else {
				dst.Window = time.Duration(n) * time.Second
			}
		}
	}
	limit("RATE_LIMITER_LOGIN_ADDRESS", &c.LoginAddress)
	limit("RATE_LIMITER_LOGIN_IP", &c.LoginIP)
	limit("RATE_LIMITER_LOGIN_DEVICE", &c.LoginDevice)
	return c
}

// directusDuration parses a duration as Directus's variables take it: a
// number of milliseconds, or a number with a unit (ms, s, m, h, d).
func directusDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(100*365*24*time.Hour/time.Millisecond) {
			return 0, fmt.Errorf("too long")
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return 0, fmt.Errorf("bad number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// sessionOptions are the Manager's options from cfg.
func (c sessionConfig) options() []users.Option {
	opts := []users.Option{
		users.WithSessionLifetimes(c.AccessTTL, c.RefreshTTL),
		users.WithPasswordResetURLAllowList(c.ResetAllowList...),
	}
	if c.Secret != nil {
		opts = append(opts, users.WithSecret(c.Secret))
	}
	return opts
}

// handlerOptions are the HTTP API's cookie options from cfg.
func (c sessionConfig) handlerOptions() []httpapi.Option {
	return []httpapi.Option{
		httpapi.WithRefreshCookie(c.RefreshCookie),
		httpapi.WithSessionCookie(c.SessionCookie),
		httpapi.WithDeviceCookie(httpapi.CookieOptions{Secure: c.RefreshCookie.Secure}),
	}
}
