package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/webui"
)

// consolePrefix is where the admin console (package webui) is served, as
// Directus serves its Data Studio. The mailed links open its pages.
const consolePrefix = "/admin"

// withConsole serves the admin console under consolePrefix and the API
// everywhere else. The console's cookies are Secure when PUBLIC_URL is
// https; its per-IP login limit sees the client address httpapi.ClientIP
// finds through IP_TRUST_PROXY; its register page counts against register,
// the per-IP limit of POST /users/register (RATE_LIMITER_REGISTRATION_*;
// nil: none), so that each address has one count for both.
func withConsole(m *users.Manager, cfg config, log *slog.Logger, api http.Handler, register users.Limiter) http.Handler {
	console := webui.New(m,
		webui.WithRegisterRateLimiter(register),
		webui.WithPrefix(consolePrefix),
		webui.WithLogger(log),
		webui.WithSecureCookies(strings.HasPrefix(cfg.PublicURL, "https://")),
		webui.WithClientIP(func(r *http.Request) string {
			if ip := httpapi.ClientIP(r, cfg.TrustedProxies); ip.IsValid() {
				return ip.String()
			}
			return ""
		}),
	)
	mux := http.NewServeMux()
	mux.Handle(consolePrefix+"/", console)
	mux.Handle("/", api)
	return mux
}

// adminEmailTaken is the warning when ADMIN_EMAIL names an existing
// account. It must not advise promoting that account: anyone may have
// registered the address, with a password of their own.
const adminEmailTaken = "ADMIN_EMAIL names an existing account, so no administrator was created. " +
	"Anyone may have registered that address: do not give the account an admin role. " +
	"Set ADMIN_EMAIL to an address that has no account, or use ADMIN_TOKEN"

// bootstrapAdmin creates the first administrator from ADMIN_EMAIL and
// ADMIN_PASSWORD (Directus's names) when no active user with an admin
// role exists: the user, active, in the role "Administrator" (with admin
// access; created when no role of that name has it). Without ADMIN_EMAIL
// it does nothing. Unlike Directus, it never makes up a password (it would
// have to print it): ADMIN_PASSWORD is required with ADMIN_EMAIL. An
// existing user with that address is left alone (the server never
// promotes an account it did not create); a warning says so.
func bootstrapAdmin(ctx context.Context, m *users.Manager, email, password string, log *slog.Logger) error {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil
	}
	if password == "" {
		return errors.New("ADMIN_PASSWORD: is required with ADMIN_EMAIL")
	}
	roles, err := m.ListRoles(ctx)
	if err != nil {
		return fmt.Errorf("ADMIN_EMAIL: %w", err)
	}
	var role *users.Role
	active, err := users.ParseFilter([]byte(`{"status":{"_eq":"active"}}`))
	if err != nil {
		return err
	}
	for _, r := range roles {
		if !r.AdminAccess {
			continue
		}
		n, err := m.CountUsers(ctx, users.UserQuery{Role: &r.ID, Filter: active})
		if err != nil {
			return fmt.Errorf("ADMIN_EMAIL: %w", err)
		}
		if n > 0 {
			return nil // an administrator exists
		}
		if role == nil || r.Name == "Administrator" && role.Name != "Administrator" {
			role = r
		}
	}
	if role == nil {
		if role, err = m.CreateRole(ctx, users.Role{Name: "Administrator",
			Description: "Initial administrative role with unrestricted App/API access", AdminAccess: true}); err != nil {
			return fmt.Errorf("ADMIN_EMAIL: %w", err)
		}
	}
	u, err := m.CreateUser(ctx, users.CreateUserInput{Email: email, Password: password, Role: &role.ID, Status: users.StatusActive})
	switch {
	case errors.Is(err, users.ErrDuplicateEmail):
		log.Warn(adminEmailTaken)
		return nil
	case err != nil:
		return fmt.Errorf("ADMIN_EMAIL/ADMIN_PASSWORD: %w", err)
	}
	log.Info("created the first administrator from ADMIN_EMAIL", "user_id", u.ID, "role", role.Name)
	return nil
}
