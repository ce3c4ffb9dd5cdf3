package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
)

// sessionConfig is the configuration of logins, sessions and password
// resets (the Sessions section of the settings table below, and the login
// limits of its Rate limits section), from Directus's variables where
// Directus has them.
type sessionConfig struct {
	Secret         []byte
	AccessTTL      time.Duration
	RefreshTTL     time.Duration
	RenewalGrace   time.Duration
	RefreshCookie  httpapi.CookieOptions
	SessionCookie  httpapi.CookieOptions
	ResetAllowList []string
	LoginAddress   limitSpec
	LoginIP        limitSpec
	LoginIPTotal   limitSpec
	LoginDevice    limitSpec
	ResetRequestIP limitSpec
}

// limitSpec is a sliding-window limit: Points events per Window.
type limitSpec struct {
	Points int
	Window time.Duration
}

var sessionsSection = section{"Sessions and password resets (Directus's names)", []setting{
	{name: "SECRET", secret: true, verbatim: true, help: "Signs access tokens and device cookies; at least 32 characters. Default: a random one per process (a warning at start-up: tokens die with the process, and other instances refuse them). Directus requires it.",
		parse: func(c *config, v string) error {
			if len(v) < users.MinSecretBytes {
				return fmt.Errorf("must be at least %d characters", users.MinSecretBytes)
			}
			c.Sessions.Secret = []byte(v)
			return nil
		}},
	{name: "ACCESS_TOKEN_TTL", def: "15m", help: "Access-token lifetime: a duration (15m, 1h) or a number of milliseconds, as in Directus.",
		parse: func(c *config, v string) (err error) { c.Sessions.AccessTTL, err = duration(v); return }},
	{name: "REFRESH_TOKEN_TTL", def: "7d", help: "Session lifetime after its last refresh; not shorter than ACCESS_TOKEN_TTL.",
		parse: func(c *config, v string) (err error) { c.Sessions.RefreshTTL, err = duration(v); return }},
	{name: "SESSION_REFRESH_GRACE_PERIOD", def: "10s", help: "How long a renewed session cookie still renews (to the current token), for requests sent at once; a renewed cookie presented later ends the session (Directus only refuses it). At most ACCESS_TOKEN_TTL.",
		parse: func(c *config, v string) (err error) { c.Sessions.RenewalGrace, err = duration(v); return }},
	{name: "REFRESH_TOKEN_COOKIE_NAME", def: httpapi.DefaultRefreshCookieName, help: "Cookie of the refresh token in login mode cookie.",
		parse: func(c *config, v string) error { return cookieName(&c.Sessions.RefreshCookie, v) }},
	{name: "REFRESH_TOKEN_COOKIE_DOMAIN", help: "Its Domain. Default: none (host-only).",
		parse: func(c *config, v string) error { c.Sessions.RefreshCookie.Domain = v; return nil }},
	{name: "REFRESH_TOKEN_COOKIE_SECURE", defText: "true when PUBLIC_URL is https, else false", help: "Its Secure flag (Directus's default is false whatever the URL). The device cookie (users_device) takes the same.",
		parse: func(c *config, v string) (err error) { c.Sessions.RefreshCookie.Secure, err = boolean(v); return }},
	{name: "REFRESH_TOKEN_COOKIE_SAME_SITE", def: "lax", help: "Its SameSite: lax, strict or none (none needs REFRESH_TOKEN_COOKIE_SECURE=true).",
		parse: func(c *config, v string) error { return sameSite(&c.Sessions.RefreshCookie, v) }},
	{name: "SESSION_COOKIE_NAME", def: httpapi.DefaultSessionCookieName, help: "Cookie of the access token in login mode session.",
		parse: func(c *config, v string) error { return cookieName(&c.Sessions.SessionCookie, v) }},
	{name: "SESSION_COOKIE_DOMAIN", help: "Its Domain. Default: none (host-only).",
		parse: func(c *config, v string) error { c.Sessions.SessionCookie.Domain = v; return nil }},
	{name: "SESSION_COOKIE_SECURE", defText: "true when PUBLIC_URL is https, else false", help: "Its Secure flag.",
		parse: func(c *config, v string) (err error) { c.Sessions.SessionCookie.Secure, err = boolean(v); return }},
	{name: "SESSION_COOKIE_SAME_SITE", def: "lax", help: "Its SameSite: lax, strict or none (none needs SESSION_COOKIE_SECURE=true).",
		parse: func(c *config, v string) error { return sameSite(&c.Sessions.SessionCookie, v) }},
	{name: "PASSWORD_RESET_URL_ALLOW_LIST", help: "Comma-separated URLs POST /auth/password/request accepts as reset_url. Default: none.",
		parse: func(c *config, v string) error { c.Sessions.ResetAllowList = list(v); return nil }}, // judged by users.New
}}

func cookieName(dst *httpapi.CookieOptions, v string) error {
	if (&http.Cookie{Name: v, Value: "x"}).Valid() != nil {
		return fmt.Errorf("is not a valid cookie name: %q", v)
	}
	dst.Name = v
	return nil
}

func sameSite(dst *httpapi.CookieOptions, v string) error {
	switch strings.ToLower(v) {
	case "lax":
		dst.SameSite = http.SameSiteLaxMode
	case "strict":
		dst.SameSite = http.SameSiteStrictMode
	case "none":
		dst.SameSite = http.SameSiteNoneMode
	default:
		return fmt.Errorf("must be lax, strict or none, not %q", v)
	}
	return nil
}

// checkSessions applies the session rules that involve several variables,
// once every variable is read: cookies are Secure by default behind an
// https PUBLIC_URL, SameSite none needs Secure, and a session outlives
// its access tokens.
func (c *config) checkSessions(bad func(format string, a ...any)) {
	s := &c.Sessions
	https := strings.HasPrefix(c.PublicURL, "https://")
	for _, ck := range []struct {
		prefix string
		opts   *httpapi.CookieOptions
	}{{"REFRESH_TOKEN_COOKIE", &s.RefreshCookie}, {"SESSION_COOKIE", &s.SessionCookie}} {
		if !c.set[ck.prefix+"_SECURE"] {
			ck.opts.Secure = https
		}
		if ck.opts.SameSite == http.SameSiteNoneMode && !ck.opts.Secure {
			bad("%s_SAME_SITE: none needs %s_SECURE=true (browsers refuse it otherwise)", ck.prefix, ck.prefix)
		}
	}
	if s.RenewalGrace <= 0 {
		bad("SESSION_REFRESH_GRACE_PERIOD: must be positive")
	}
	if s.RenewalGrace > s.AccessTTL {
		bad("SESSION_REFRESH_GRACE_PERIOD: must not be longer than ACCESS_TOKEN_TTL")
	}
	if s.RefreshTTL < s.AccessTTL {
		bad("REFRESH_TOKEN_TTL: must not be shorter than ACCESS_TOKEN_TTL")
	}
}

// sessionOptions are the Manager's options from cfg.
func (c sessionConfig) options() []users.Option {
	opts := []users.Option{
		users.Lifetimes{Access: c.AccessTTL, Refresh: c.RefreshTTL, RenewalGrace: c.RenewalGrace},
		users.Links{PasswordResetURLs: c.ResetAllowList},
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
