package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
)

// The browser test runs hostapp as a separate process (built once, or
// found built in the go command's cache: testenv.Executable), so
// that it can be killed with SIGKILL and started again on the same
// database, and drives it with Debian's chromium.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binary, buildErr = testenv.Executable(".", t.TempDir())
	})
	require.NoError(t, buildErr)
	return binary
}

// app is one hostapp process.
type app struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *syncBuffer // stdout: the printed mail
	errs *syncBuffer
	url  string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs hostapp on addr with the environment env and waits until it
// answers.
func start(t *testing.T, addr string, env ...string) *app {
	t.Helper()
	a := &app{t: t, out: &syncBuffer{}, errs: &syncBuffer{}, url: "http://" + addr}
	a.cmd = exec.Command(build(t))
	a.cmd.Env = append(os.Environ(), append([]string{"ADDR=" + addr}, env...)...)
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.errs
	require.NoError(t, a.cmd.Start())
	t.Cleanup(func() { a.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(a.url + "/")
		if err == nil {
			res.Body.Close()
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("hostapp did not start: %v\n%s", err, a.errs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown, no deferred code.
func (a *app) kill() {
	if a.cmd.ProcessState == nil {
		_ = a.cmd.Process.Signal(syscall.SIGKILL)
		_ = a.cmd.Wait()
	}
}

var linkRE = regexp.MustCompile(`https?://\S+/admin/accept-invite\?token=[A-Za-z0-9_-]+`)

// inviteLink waits for the invitation mail to addr on stdout and returns
// its link.
func (a *app) inviteLink(addr string) string {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out := a.out.String()
		if i := strings.Index(out, "To: "+addr); i >= 0 {
			if l := linkRE.FindString(out[i:]); l != "" {
				return l
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Fatalf("no invitation mail to %s:\n%s", addr, a.out.String())
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// browser starts a headless chromium; each tab() is a fresh browser
// context (its own cookies). Without chromium the test is skipped, or
// fails under CI=true.
func browser(t *testing.T) func() context.Context {
	t.Helper()
	path := ""
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(p); err == nil {
			path = found
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("the browser test needs chromium under CI (apt-get install -y chromium)")
		}
		t.Skip("skipping the browser test: no chromium on PATH (apt-get install -y chromium)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1280, 800))
	root, cancel := chromedp.NewContext(alloc)
	require.NoError(t, chromedp.Do(root))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return func() context.Context {
		ctx, cancelTab := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
		t.Cleanup(func() { cancelT(); cancelTab() })
		return ctx
	}
}

// submit clicks sel and waits for the page it leads to.
func submit(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	require.NoError(t, err, "clicking %s", sel)
}

func location(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	u, err := url.Parse(loc)
	require.NoError(t, err)
	return u
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, "reading %s", sel)
	return s
}

func signIn(t *testing.T, ctx context.Context, email, password string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#email"), email),
		chromedp.SetValue(chromedp.CSS("#password"), password)))
	submit(t, ctx, `main form button[type=submit]`)
}

// TestBrowserWalk walks the application as people would: an anonymous
// visit is sent to sign in; an administrator invites; the invitee follows
// the mailed link and sets a password. The team's event handler writes
// her row and is then held; the process is killed with SIGKILL before the
// delivery is acknowledged, and started again. She signs in, lands on the
// team page, and is on the team exactly once: the event was delivered
// again after the crash, and the handler is idempotent.
func TestBrowserWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test builds and runs hostapp")
	}
	tab := browser(t)
	dir := t.TempDir()
	env := []string{
		"DB_FILENAME=" + filepath.Join(dir, "hostapp.db"),
		"SECRET=hostapp-test-secret-0123456789abcdef",
		"ADMIN_EMAIL=admin@example.com", "ADMIN_PASSWORD=a long admin passphrase",
	}
	hold := filepath.Join(dir, "handler-running")
	env = append(env, "DELIVERY_LEASE=3s")
	addr := freeAddr(t)
	a := start(t, addr, append(env, "HOSTAPP_HOLD_HANDLER="+hold)...)

	// An anonymous visit to the team page is sent to sign in, and back.
	anon := tab()
	_, err := chromedp.RunResponse(anon, chromedp.Navigate(a.url+"/team"))
	require.NoError(t, err)
	loc := location(t, anon)
	assert.Equal(t, "/admin/login", loc.Path)
	assert.Equal(t, "/team", loc.Query().Get("next"))

	// The administrator signs in, lands on the console and invites.
	admin := tab()
	_, err = chromedp.RunResponse(admin, chromedp.Navigate(a.url+"/admin/login"))
	require.NoError(t, err)
	signIn(t, admin, "admin@example.com", "a long admin passphrase")
	assert.Equal(t, "/admin/users", location(t, admin).Path)
	_, err = chromedp.RunResponse(admin, chromedp.Navigate(a.url+"/admin/roles"))
	require.NoError(t, err)
	_, err = chromedp.RunResponse(admin, chromedp.Click(chromedp.Search(`//main//a[normalize-space()="Member"]`)))
	require.NoError(t, err)
	require.Contains(t, text(t, admin, "h1"), "Member")
	submit(t, admin, `main form[method=get] button`) // Invite Users
	require.NoError(t, chromedp.Do(admin, chromedp.SetValue(chromedp.CSS("#emails"), "ivy@example.com")))
	submit(t, admin, `#panel form[method=post] button[type=submit]`)
	assert.Contains(t, text(t, admin, "main"), "ivy@example.com: invited")

	// The invitee follows the mailed link and sets a password.
	ivy := tab()
	_, err = chromedp.RunResponse(ivy, chromedp.Navigate(a.inviteLink("ivy@example.com")))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ivy,
		chromedp.SetValue(chromedp.CSS("#password"), "ivy's long passphrase"),
		chromedp.SetValue(chromedp.CSS("#confirm_password"), "ivy's long passphrase")))
	submit(t, ivy, `main form button[type=submit]`)
	assert.Contains(t, text(t, ivy, "main"), "Your account is ready")

	// The handler runs: it wrote the row and is held. Kill the process
	// mid-handler, and start it again on the same database.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(hold); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the team handler never ran:\n%s", a.errs.String())
		time.Sleep(50 * time.Millisecond)
	}
	a.kill()
	a = start(t, addr, env...)

	// She signs in from the page's link and lands on the team page.
	submit(t, ivy, `main a[href="/admin/login"]`)
	signIn(t, ivy, "ivy@example.com", "ivy's long passphrase")
	assert.Equal(t, "/team", location(t, ivy).Path)
	assert.Equal(t, "ivy@example.com", text(t, ivy, "#me"))

	// Her row is there once, and stays once after the event is delivered
	// again (the lease of the killed process's delivery is 3 s).
	members := func() int {
		_, err := chromedp.RunResponse(ivy, chromedp.Navigate(a.url+"/team"))
		require.NoError(t, err)
		return strings.Count(text(t, ivy, "main"), "ivy@example.com")
	}
	assert.Equal(t, 1, members())
	// The restarted process takes the killed one's delivery over once its
	// lease ends, and finds her on the team already.
	deadline = time.Now().Add(60 * time.Second)
	for !strings.Contains(a.errs.String(), "already on the team") {
		require.True(t, time.Now().Before(deadline), "the event was not delivered again after the crash:\n%s", a.errs.String())
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, 1, members())

	// The console is not hers.
	res, err := chromedp.RunResponse(ivy, chromedp.Navigate(a.url+"/admin/users"))
	require.NoError(t, err)
	assert.EqualValues(t, http.StatusForbidden, res.Status)

	// Signing out ends it: the team page sends her to sign in again.
	_, err = chromedp.RunResponse(ivy, chromedp.Navigate(a.url+"/team"))
	require.NoError(t, err)
	submit(t, ivy, `header form button[type=submit]`)
	_, err = chromedp.RunResponse(ivy, chromedp.Navigate(a.url+"/team"))
	require.NoError(t, err)
	assert.Equal(t, "/admin/login", location(t, ivy).Path)

	if t.Failed() {
		t.Logf("hostapp's log:\n%s", a.errs.String())
	}
}
