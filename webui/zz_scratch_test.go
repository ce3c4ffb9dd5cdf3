package webui_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

func TestZZWalk(t *testing.T) {
	e := newEnv(t, asAdmin)
	e.base = "http://127.0.0.1:18655/admin"
	p := e.newPage()
	n := 0
	shot := func(name string) {
		n++
		b, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(fmt.Sprintf("/tmp/rwshots/w%02d-%s.png", n, name), b, 0o644))
	}
	t.Log(p.open("/"))
	p.fill("Email", "admin@example.com")
	p.fill("Password", "correct horse battery")
	t.Log(p.click("button", "Sign In"))
	shot("users")
	t.Log(p.click("link", "Roles"))
	p.fill("Name", "Editors")
	t.Log(p.click("button", "Create Role"))
	shot("role-created")
	t.Log(p.click("link", "Settings"))
	p.check("User Registration", true)
	p.choose("Role", "Editors")
	p.fill("Email Filter", `{"email":{"_ends_with":"@example.com"}}`)
	t.Log(p.click("button", "Save"))
	shot("settings-saved")
	t.Log(p.click("link", "Roles"))
	t.Log(p.click("link", "Editors"))
	t.Log(p.click("button", "Invite Users"))
	p.fill("Emails", "grace@example.com, bob@example.com\nadmin@example.com")
	t.Log(p.click("button", "Invite"))
	shot("invited")
	t.Log(p.click("button", "Create New"))
	p.fill("Email", "carl@example.com")
	p.fill("Password", "carl password")
	p.fill("First Name", "Carl")
	t.Log(p.click("button", "Save"))
	shot("created")
	t.Log(p.click("button", "Remove carl@example.com"))
	shot("removed")
	t.Log(p.click("button", "Add Existing"))
	shot("add")
	p.check("carl@example.com", true)
	t.Log(p.click("button", "Add"))
	shot("added")
	t.Log(p.click("button", "Sign Out"))
	out, _ := exec.Command("cat", "/tmp/rw/mail.out").Output()
	links := regexp.MustCompile(`http://\S+token=\S+`).FindAll(out, -1)
	t.Log(len(links))
	t.Log(p.open(string(links[0])))
	shot("accept")
	p.fill("Password", "grace password")
	p.fill("Confirm Password", "grace password")
	t.Log(p.click("button", "Accept Invite"))
	shot("accepted")
	t.Log(p.open(string(links[0])))
	shot("accept-used")
	t.Log(p.open("/register"))
	p.fill("Email", "reg@example.com")
	p.fill("Password", "reg password")
	t.Log(p.click("button", "Register"))
	shot("registered")
}
