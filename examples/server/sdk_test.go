package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

// sdkFiles are what testdata/directus-sdk holds: the pinned SDK's
// package.json and package-lock.json, and the flows that drive it.
var sdkFiles = []string{"package.json", "package-lock.json", "flow.mjs"}

// The official Directus JavaScript SDK (@directus/sdk, the version
// testdata/directus-sdk/package-lock.json pins) against the server,
// unchanged, on SQLite, PostgreSQL and MariaDB: every flow a Directus
// client runs here, through the SDK's own functions (testdata/
// directus-sdk/flow.mjs), then the store as those flows left it.
//
// It needs node and npm: npm ci installs the locked tree from the npm
// registry (or npm's cache) into a temporary directory. Without them the
// test skips, except under CI=true, where it fails.
func TestDirectusSDK(t *testing.T) {
	t.Parallel()
	requireLong(t, "installs @directus/sdk with npm and runs node")
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not on PATH, and under CI=true the Directus SDK test must run (apt-get install nodejs npm)", tool)
			}
			t.Skipf("%s is not on PATH: the Directus SDK test needs node and npm (apt-get install nodejs npm)", tool)
		}
	}
	dir := t.TempDir()
	for _, f := range sdkFiles {
		b, err := os.ReadFile(filepath.Join("testdata", "directus-sdk", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	npm := exec.Command("npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error")
	npm.Dir = dir
	out, err := npm.CombinedOutput()
	require.NoError(t, err, "npm ci: %s", out)

	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		sdkFlows(t, dir, map[string]string{"DB_FILENAME": filepath.Join(t.TempDir(), "users.db")})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		sdkFlows(t, dir, map[string]string{"DB_CLIENT": "pg", "DB_CONNECTION_STRING": postgresSchemaDSN(t)})
	})
	t.Run("MariaDB", func(t *testing.T) {
		t.Parallel()
		sdkFlows(t, dir, mysqlDatabaseEnv(t))
	})
}

// sdkFlows runs flow.mjs (in dir, where the SDK is installed) against a
// server on the database env names, and checks what it reports and what
// the store holds afterwards.
func sdkFlows(t *testing.T, dir string, env map[string]string) {
	env = withEnv(env, map[string]string{
		"SECRET":                        "an-sdk-test-secret-of-at-least-32-chars",
		"ADMIN_EMAIL":                   "root@example.com",
		"ADMIN_PASSWORD":                "the root password",
		"PASSWORD_RESET_URL_ALLOW_LIST": "https://app.example.com/reset",
	})
	s := startServer(t, env)
	got := runFlow(t, s, dir)
	stopped := s.stop()

	roleID := got.str("ids.role")
	want := map[string]string{
		"createRole":               `{"name":"Member","id":"string"}`,
		"updateSettings":           `{"public_registration":true,"public_registration_verify_email":true,"public_registration_email_filter":{"email":{"_ends_with":"@example.com"}},"role":true}`,
		"updateSettings.anonymous": `{"status":403,"code":"FORBIDDEN"}`,
		// Outside the email filter: refused, as Directus does.
		"registerUser.filtered":       `{"status":403,"code":"FORBIDDEN"}`,
		"login.unverified":            `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"registerUserVerify":          `null`,
		"registerUserVerify.again":    `{"status":403,"code":"INVALID_TOKEN"}`,
		"registerUserVerify.noToken":  `{"status":403,"code":"INVALID_TOKEN"}`,
		"registerUser.malformedEmail": `{"status":400,"code":"INVALID_PAYLOAD","message":"Invalid payload. \"email\" must be a valid email."}`,
		"registerUser.malformedURL":   `{"status":400,"code":"INVALID_PAYLOAD","message":"Invalid payload. \"verification_url\" must be a valid uri."}`,
		"login.malformedEmail":        `{"status":400,"code":"INVALID_PAYLOAD","message":"Invalid payload. \"email\" must be a valid email."}`,
		"login.noPassword":            `{"status":400,"code":"INVALID_PAYLOAD","message":"Invalid payload. \"password\" is required."}`,
		// The SDK computes expires_at itself from expires (15 min in ms).
		"login.json":           `{"access_token":"string","refresh_token":"string","expires":900000,"expires_at":"number"}`,
		"readMe":               `{"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace","status":"active","password":"**********","role":true}`,
		"readMe.fields":        `{"email":"ada@example.com","status":"active"}`,
		"updateMe":             `{"email":"ada@example.com","first_name":"Augusta","last_name":"King"}`,
		"readMe.afterUpdateMe": `{"first_name":"Augusta","last_name":"King"}`,
		"readUsers.notAdmin":   `{"status":403,"code":"FORBIDDEN"}`,
		"inviteUser.notAdmin":  `{"status":403,"code":"FORBIDDEN"}`,

		"refresh":             `{"access_token":"string","refresh_token":true,"expires":900000}`,
		"readMe.afterRefresh": `"ada@example.com"`,
		"refresh.replayed":    `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"readMe.afterReplay":  `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"readMe.afterLogout":  `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"readMe.anonymous":    `{"status":401,"code":"INVALID_CREDENTIALS"}`,

		"login.cookie":              `{"access_token":"string","refresh_token":null,"expires":900000,"cookie":["HttpOnly","Max-Age=604800","Path=/","SameSite=Lax"]}`,
		"readMe.cookie":             `"ada@example.com"`,
		"refresh.cookie":            `{"access_token":"string","cookie":true}`,
		"readMe.cookieAfterRefresh": `"ada@example.com"`,
		"logout.cookie":             `{"cookie":false}`,
		"refresh.cookieAfterLogout": `{"status":400,"code":"INVALID_PAYLOAD"}`,

		"login.session":              `{"refresh_token":null,"expires":900000,"cookie":["HttpOnly","Max-Age=604800","Path=/","SameSite=Lax"]}`,
		"readMe.session":             `"ada@example.com"`,
		"refresh.session":            `{"refresh_token":null,"expires":900000,"cookie":true}`,
		"readMe.sessionAfterRefresh": `"ada@example.com"`,
		"logout.session":             `{"cookie":false}`,
		"readMe.sessionAfterLogout":  `{"status":401,"code":"INVALID_CREDENTIALS"}`,

		"passwordRequest":             `"ok"`,
		"passwordRequest.notAllowed":  `{"status":400,"code":"INVALID_PAYLOAD"}`,
		"passwordReset.weak":          `{"status":400,"code":"INVALID_PAYLOAD"}`,
		"passwordReset":               `"ok"`,
		"passwordReset.again":         `{"status":403,"code":"INVALID_TOKEN"}`,
		"readMe.afterReset":           `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"login.oldPassword":           `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"login.newPassword":           `"ada@example.com"`,
		"passwordRequest.defaultPage": `43`,
		"updateMe.passwordAlone":      `{"status":400,"code":"INVALID_PAYLOAD"}`,
		"readMe.afterPasswordChange":  `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"login.changedPassword":       `"ada@example.com"`,

		"acceptUserInvite":       `null`,
		"acceptUserInvite.again": `{"status":403,"code":"INVALID_TOKEN"}`,
		"readMe.grace":           `{"email":"grace@example.com","status":"active","first_name":"Grace","last_name":"Hopper","role":true}`,

		"createUser": `{"email":"edsger@example.com","status":"suspended","role":null}`,
		// Users now: ada (Augusta King, Member), grace (Grace Hopper,
		// Member), root (Root Zuse, Administrator), alan@example.org,
		// barbara, donald@example.net, edsger (suspended), no role.
		"readUsers.filter":         `["ada@example.com","barbara@example.com","edsger@example.com","grace@example.com","root@example.com"]`,
		"readUsers.filterAnd":      `["alan@example.org","barbara@example.com","donald@example.net"]`,
		"readUsers.filterIn":       `["donald@example.net","alan@example.org"]`,
		"readUsers.filterContains": `["edsger@example.com","ada@example.com","donald@example.net","barbara@example.com"]`,
		"readUsers.search":         `["ada@example.com","alan@example.org"]`,
		"readUsers.sort":           `["root@example.com","alan@example.org","barbara@example.com"]`,
		"readUsers.sortTwo":        `["root@example.com","grace@example.com","donald@example.net","barbara@example.com","alan@example.org","ada@example.com","edsger@example.com"]`,
		"readUsers.offset":         `["barbara@example.com","donald@example.net"]`,
		"readUsers.page":           `["barbara@example.com","donald@example.net"]`,
		"readUsers.all":            `7`,
		"readUsers.meta":           `{"data":["ada@example.com","grace@example.com"],"meta":{"total_count":7,"filter_count":2}}`,
		"readUsers.fields":         `["email","role"]`,

		"readActivities.registration": `{"action":"create","user":null,"collection":"directus_users","flow":"registered"}`,
		"readActivities.login":        `{"action":"login","user":"ada","collection":"directus_users","flow":"signed_in"}`,
		"readActivities.roleChange":   `{"action":"update","user":"admin","collection":"directus_users","flow":"updated"}`,
		"readActivities.notAdmin":     `{"status":403,"code":"FORBIDDEN"}`,

		"readRoles.filter": `["Member"]`,
		"readRoles.sort":   `["Member","Administrator"]`,
		"readRoles.page":   `{"data":[{"name":"Administrator","admin_access":true}],"meta":{"total_count":2}}`,
		"readRoles.search": `["Member"]`,

		"createUser.malformedEmail": `{"status":400,"code":"FAILED_VALIDATION","field":"email","type":"email","message":"Validation failed for field \"email\". Value has to be a valid email address."}`,
		"createUser.duplicate":      `{"status":400,"code":"RECORD_NOT_UNIQUE","collection":"directus_users","field":"email","message":"Value for field \"email\" in collection \"directus_users\" has to be unique."}`,
		"createUsers":               `[{"email":"kathleen@example.com","status":"active"},{"email":"john@example.com","status":"draft"}]`,
		"createUsers.duplicate":     `{"status":400,"code":"RECORD_NOT_UNIQUE","collection":"directus_users","field":"email","message":"Value for field \"email\" in collection \"directus_users\" has to be unique."}`,
		"createUsers.taken":         `{"status":400,"code":"RECORD_NOT_UNIQUE","collection":"directus_users","field":"email","message":"Value for field \"email\" in collection \"directus_users\" has to be unique."}`,
		"createUsers.none":          `[]`,

		"deleteUser":           `{"status":403,"code":"FORBIDDEN"}`,
		"readMe.deleted":       `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"refresh.deleted":      `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"deleteUsers":          `["ada@example.com","barbara@example.com","edsger@example.com","john@example.com","kathleen@example.com","root@example.com"]`,
		"deleteUser.lastAdmin": `{"status":400,"code":"INVALID_PAYLOAD"}`,
		"deleteUser.notAdmin":  `{"status":403,"code":"FORBIDDEN"}`,

		// Two-factor sign-in with the SDK's generateTwoFactorSecret,
		// enableTwoFactor, disableTwoFactor and login's otp.
		"tfa.generate.wrongPassword": `{"status":401,"code":"INVALID_CREDENTIALS"}`,
		"tfa.generate":               `{"secret":true,"otpauth_url":true}`,
		"tfa.enable.foreignSecret":   `{"status":400,"code":"INVALID_PAYLOAD"}`,
		"tfa.enable.wrongOtp":        `{"status":400,"code":"INVALID_PAYLOAD"}`,
		"tfa.enable":                 `null`,
		"tfa.readMe":                 `{"email":"ada@example.com","tfa_secret":"**********"}`,
		"tfa.login.noOtp":            `{"status":401,"code":"INVALID_OTP"}`,
		"tfa.login.wrongOtp":         `{"status":401,"code":"INVALID_OTP"}`,
		"tfa.login":                  `"ada@example.com"`,
		"tfa.login.reused":           `{"status":401,"code":"INVALID_OTP"}`,
		"tfa.disable.wrongOtp":       `{"status":400,"code":"INVALID_PAYLOAD"}`,
		"tfa.disable":                `null`,
		"tfa.readMe.afterDisable":    `{"tfa_secret":null}`,
		"tfa.login.afterDisable":     `"ok"`,
		"tfa.enforce.role":           `true`,
		"tfa.enforce.readMe":         `"kim@example.com"`,
		"tfa.enforce.updateMe":       `{"status":403,"code":"FORBIDDEN"}`,
		"tfa.enforce.afterSetUp":     `{"first_name":"Kim","tfa_secret":"**********"}`,
	}
	for name, w := range want {
		if assert.Contains(t, got, name, "flow.mjs reported no step %s", name) {
			assert.JSONEq(t, w, string(got[name]), "step %s", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && !strings.HasPrefix(name, "ids.") && !strings.HasPrefix(name, "session.") {
			t.Errorf("flow.mjs reported step %s, which the test does not check: %s", name, got[name])
		}
	}
	require.NoError(t, stopped, "graceful shutdown")
	for _, secret := range []string{"the root password", "a brand new password", "the third password", "a created password"} {
		assert.NotContains(t, s.logs.String(), secret)
	}

	// The store, as the flows left it.
	cfg, err := loadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx := context.Background()
	st, _, closeStore, err := openStore(ctx, cfg)
	require.NoError(t, err)
	defer closeStore()

	ada, err := st.GetUser(ctx, got.str("ids.ada"))
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com", ada.Email)
	assert.Equal(t, users.StatusActive, ada.Status, "verified")
	if assert.NotNil(t, ada.Role) {
		assert.Equal(t, roleID, *ada.Role, "public_registration_role")
	}
	assert.Equal(t, "Augusta", ada.FirstName)
	assert.Equal(t, "King", ada.LastName)
	ids := map[string]string{}
	require.NoError(t, json.Unmarshal(got["ids.created"], &ids))
	edsger, err := st.GetUser(ctx, ids["edsger"])
	require.NoError(t, err)
	assert.Equal(t, users.StatusSuspended, edsger.Status)
	for _, id := range []string{got.str("ids.grace"), ids["alan"], ids["donald"]} {
		_, err := st.GetUser(ctx, id)
		assert.ErrorIs(t, err, store.ErrNotFound, "deleted user %s", id)
	}
	_, err = st.GetUserByEmailKey(ctx, "grace@example.com")
	assert.ErrorIs(t, err, store.ErrNotFound, "the address is free again")
	n, err := st.CountUsers(ctx, store.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 7, n, "with the batch of two and kim, of the two-factor flow")
	var batch []string
	require.NoError(t, json.Unmarshal(got["ids.batch"], &batch))
	require.Len(t, batch, 2)
	for i, email := range []string{"john@example.com", "kathleen@example.com"} {
		u, err := st.GetUser(ctx, batch[i])
		require.NoError(t, err)
		assert.Equal(t, email, u.Email)
	}
	ada, err = st.GetUser(ctx, got.str("ids.ada"))
	require.NoError(t, err)
	assert.False(t, ada.TwoFactor, "ada turned it off")
	kim, err := st.GetUser(ctx, got.str("ids.kim"))
	require.NoError(t, err)
	assert.True(t, kim.TwoFactor)
	rec, err := st.GetTwoFactor(ctx, kim.ID)
	require.NoError(t, err)
	assert.Equal(t, 10, rec.RecoveryCodes)
	assert.NotRegexp(t, `[A-Z2-7]{32}`, string(rec.Secret), "stored sealed")
	for _, sid := range []string{"session.replayed", "session.loggedOut", "session.grace"} {
		_, err := st.GetSession(ctx, got.str(sid))
		assert.ErrorIs(t, err, store.ErrNotFound, "%s: the session is gone", sid)
	}

	doc, err := st.Settings(ctx)
	require.NoError(t, err)
	var settings users.Settings
	require.NoError(t, json.Unmarshal(doc, &settings))
	assert.True(t, settings.PublicRegistration)
	assert.True(t, settings.PublicRegistrationVerifyEmail)
	if assert.NotNil(t, settings.PublicRegistrationRole) {
		assert.Equal(t, roleID, *settings.PublicRegistrationRole)
	}

	// Mail went where the flows asked, and nowhere else: three to ada
	// (verification, two resets), none to the unknown or filtered
	// addresses, none pending for the deleted grace.
	for addr, want := range map[string]int{"ada@example.com": 3, "nobody@example.com": 0, "eve@elsewhere.example": 0, "mallory@example.com": 0} {
		mail, err := st.ListMail(ctx, store.MailQuery{To: addr})
		require.NoError(t, err)
		assert.Len(t, mail, want, "mail to %s", addr)
		for _, m := range mail {
			assert.Equal(t, store.MailSent, m.Status, "mail to %s", addr)
		}
	}
	pending, err := st.ListMail(ctx, store.MailQuery{To: "grace@example.com", Status: store.MailPending})
	require.NoError(t, err)
	assert.Empty(t, pending)
}

// steps are what flow.mjs reported, by step name.
type steps map[string]json.RawMessage

// str returns a step whose value is a JSON string.
func (s steps) str(name string) string {
	var v string
	_ = json.Unmarshal(s[name], &v)
	return v
}

// runFlow runs flow.mjs against s, answers its requests for mailed tokens
// from the mails the server sent, and returns the steps it reported.
func runFlow(t *testing.T, s *server, dir string) steps {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "flow.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "URL="+s.base, "ADMIN_TOKEN="+adminToken,
		"ADMIN_EMAIL=root@example.com", "ADMIN_PASSWORD=the root password")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()

	got := steps{}
	var lines []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if rest, ok := strings.CutPrefix(line, "step "); ok {
			name, v, _ := strings.Cut(rest, " ")
			require.NotContains(t, got, name, "step %s reported twice", name)
			got[name] = json.RawMessage(v)
			continue
		}
		if rest, ok := strings.CutPrefix(line, "mail "); ok {
			f := strings.Fields(rest)
			require.Len(t, f, 3, "mail request %q", line)
			n, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			_, token := linkToken(t, s.mailTo(f[0], n), f[2])
			_, err = io.WriteString(stdin, token+"\n")
			require.NoError(t, err)
		}
	}
	err = cmd.Wait()
	require.NoError(t, err, "node flow.mjs failed after %d steps.\nstdout:\n%s\nstderr:\n%s",
		len(got), strings.Join(lines, "\n"), stderr.String())
	t.Logf("node flow.mjs: %d steps in %s", len(got), time.Since(start).Round(time.Millisecond))
	return got
}
