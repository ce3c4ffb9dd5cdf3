package webui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// everyPage sets up data so that every page of the console has something
// to show, and returns their paths.
func everyPage(t *testing.T, e *env) []string {
	t.Helper()
	ctx := context.Background()
	editors := e.role("Editors", false)
	u := e.user(users.CreateUserInput{Email: "someone.with.a.rather.long.address@subdomain.example.com", FirstName: "Someone", LastName: "Long", Role: &editors.ID})
	e.user(users.CreateUserInput{Email: "other@example.com"})
	openRegistration(t, e.m)
	_, err := e.m.Invite(ctx, users.InviteInput{Emails: []string{"inv@example.com"}, Role: editors.ID})
	require.NoError(t, err)
	invite := e.lastLink("inv@example.com")
	require.NoError(t, e.m.Register(ctx, users.RegisterInput{Email: "reg@example.com", Password: "a password"}))
	verify := e.lastLink("reg@example.com")
	require.NoError(t, e.m.RequestEmailChange(ctx, u.ID, "moved@example.com", ""))
	confirm := e.lastLink("moved@example.com")
	cancel := e.lastLink(u.Email)
	return []string{
		"/users?panel=create", "/users?panel=invite", "/users/" + u.ID + "/delete",
		"/roles/" + editors.ID + "/remove?user=" + u.ID, confirm, cancel,
		"/login", "/register", "/forgot-password", invite, verify, "/verify-email?token=bad",
		"/settings", "/roles", "/roles/" + editors.ID, "/roles/" + editors.ID + "?panel=create",
		"/roles/" + editors.ID + "?panel=add", "/roles/" + editors.ID + "?panel=invite",
		"/users", "/users/" + u.ID, "/nowhere",
	}
}

// At 360 px and at 1280 px wide, no page scrolls sideways: long addresses
// wrap, tables scroll inside their own region.
func TestReadableNarrowAndWide(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	paths := everyPage(t, e)
	p := e.newPage()
	for _, w := range []int64{360, 1280} {
		require.NoError(t, chromedp.Do(p.ctx, chromedp.EmulateViewport(w, 800)))
		for _, path := range paths {
			p.open(path)
			over, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			require.NoError(t, err)
			assert.False(t, over, "%s scrolls sideways at %d px", path, w)
			size, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).fontSize`))
			require.NoError(t, err)
			assert.Equal(t, "16px", size, "%s at %d px", path, w)
		}
	}
	require.NoError(t, chromedp.Do(p.ctx, chromedp.EmulateViewport(360, 800)))
	p.open("/users")
	p.shot("users-360")
}

// Every control has an accessible name: a label, or the text of its button.
func TestEveryControlLabelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	paths := everyPage(t, e)
	p := e.newPage()
	controls := map[string]bool{"textbox": true, "searchbox": true, "combobox": true, "checkbox": true,
		"button": true, "link": true, "radio": true, "listbox": true}
	for _, path := range paths {
		p.open(path)
		nodes, err := chromedp.Run(p.ctx, func(ctx context.Context, t *chromedp.Target) ([]*accessibility.Node, error) {
			res, err := cdp.Call(ctx, t, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
			return res.Nodes, err
		})
		require.NoError(t, err)
		n := 0
		for _, node := range nodes {
			if node.Ignored || node.Role == nil {
				continue
			}
			role := axString(node.Role)
			if !controls[role] {
				continue
			}
			n++
			assert.NotEmpty(t, strings.TrimSpace(axString(node.Name)), "%s: a %s without a name", path, role)
		}
		assert.Positive(t, n, "%s has controls", path)
	}
}

func axString(v *accessibility.Value) string {
	if v == nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(v.Value, &s)
	return s
}

// Tab reaches every control of a form in order, and the focused one shows
// a visible outline.
func TestKeyboardFocusVisible(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	e.role("Member", false)
	p := e.newPage()
	p.open("/settings")
	seen := map[string]bool{}
	for range 20 {
		require.NoError(t, chromedp.Do(p.ctx, chromedp.KeyEvent(kb.Tab)))
		var f struct {
			Tag     string `json:"tag"`
			ID      string `json:"id"`
			Outline string `json:"outline"`
			Width   string `json:"width"`
		}
		var err error
		f, err = chromedp.Run(p.ctx, chromedp.Evaluate[struct {
			Tag     string `json:"tag"`
			ID      string `json:"id"`
			Outline string `json:"outline"`
			Width   string `json:"width"`
		}](`(() => { const e = document.activeElement; const s = getComputedStyle(e);
			return {tag: e.tagName, id: e.id || e.textContent.trim(), outline: s.outlineStyle, width: s.outlineWidth}; })()`))
		require.NoError(t, err)
		if f.Tag == "BODY" {
			continue
		}
		seen[f.ID] = true
		assert.NotEqual(t, "none", f.Outline, "%s %s has no visible focus", f.Tag, f.ID)
		w, _ := strconv.ParseFloat(strings.TrimSuffix(f.Width, "px"), 64)
		assert.GreaterOrEqual(t, w, 2.0, "%s %s: focus outline too thin", f.Tag, f.ID)
	}
	for _, id := range []string{"Skip to content", "public_registration", "public_registration_verify_email", "public_registration_role",
		"public_registration_email_filter", "auth_password_policy", "project_name", "Save"} {
		assert.True(t, seen[id], "Tab never reached %s", id)
	}
}

// The stylesheet's text and background colours meet WCAG AA (4.5:1), and
// the focus ring and field borders 3:1.
func TestContrastAA(t *testing.T) {
	t.Parallel()
	f, err := os.Open("static/style.css")
	require.NoError(t, err)
	defer f.Close()
	vars := map[string]string{}
	re := regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6})`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, m := range re.FindAllStringSubmatch(sc.Text(), -1) {
			vars[m[1]] = m[2]
		}
	}
	require.NoError(t, sc.Err())
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"text", "bg", 4.5}, {"muted", "bg", 4.5}, {"accent", "bg", 4.5}, {"danger", "bg", 4.5},
		{"ok", "ok-bg", 4.5}, {"text", "soft", 4.5}, {"muted", "soft", 4.5}, {"accent", "soft", 4.5},
		{"danger", "bad-bg", 4.5}, {"focus", "bg", 3}, {"focus", "soft", 3}, {"line", "bg", 3},
	}
	for _, p := range pairs {
		fg, bg := vars[p.fg], vars[p.bg]
		require.NotEmpty(t, fg, p.fg)
		require.NotEmpty(t, bg, p.bg)
		r := contrast(fg, bg)
		assert.GreaterOrEqual(t, r, p.min, "--%s on --%s: %.2f:1", p.fg, p.bg, r)
	}
	// Buttons: white on the accent.
	assert.GreaterOrEqual(t, contrast("#ffffff", vars["accent"]), 4.5)
	assert.GreaterOrEqual(t, contrast("#ffffff", vars["accent-dark"]), 4.5)
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	var c [3]float64
	for i := range 3 {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			panic(fmt.Sprint("bad colour ", hex))
		}
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
