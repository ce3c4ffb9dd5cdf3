package webui_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
	"github.com/gousers/users/webui"
)

var screenshots = flag.Bool("screenshots", false, "write docs/screenshots/*.png (1280×800) of every page")

// env is a console over a fresh store, served on a local port, with the
// mail it sends recorded.
type env struct {
	t     *testing.T
	m     *users.Manager
	store store.Store
	mail  *memmailer.Mailer
	srv   *httptest.Server
	base  string // the console's URL: <server>/admin
}

// newEnv serves a console. Unless opts say otherwise every request is an
// administrator's (WithAuthorizer), so that admin pages open directly.
func newEnv(t *testing.T, opts ...webui.Option) *env {
	t.Helper()
	e := &env{t: t, store: newStore(), mail: memmailer.New()}
	var h http.Handler
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + "/admin"
	m, err := users.New(e.store, e.mail,
		users.WithHasher(userstest.Hasher{}),
		users.Links{PublicURL: e.srv.URL},
		webui.LinkPaths("/admin"),
		limits(func(l *users.Limits) { l.Mail = nil; l.Login = nil }),
	)
	require.NoError(t, err)
	e.m = m
	h = webui.New(m, opts...)
	return e
}

// asAdmin is the authorizer of tests that need no sign-in.
var asAdmin = webui.WithAuthorizer(func(*http.Request) bool { return true })

func newStore() store.Store { return memstore.New() }

func (e *env) role(name string, admin bool) *users.Role {
	e.t.Helper()
	r, err := e.m.CreateRole(context.Background(), users.Role{Name: name, AdminAccess: admin})
	require.NoError(e.t, err)
	return r
}

func (e *env) user(in users.CreateUserInput) *users.User {
	e.t.Helper()
	u, err := e.m.CreateUser(context.Background(), in)
	require.NoError(e.t, err)
	return u
}

func (e *env) byEmail(email string) *users.User {
	e.t.Helper()
	list, err := e.m.ListUsers(context.Background(), users.UserQuery{})
	require.NoError(e.t, err)
	for _, u := range list {
		if strings.EqualFold(u.Email, email) {
			return u
		}
	}
	return nil
}

// openRegistration turns public registration on.
func openRegistration(t *testing.T, m *users.Manager) {
	t.Helper()
	s, err := m.Settings(context.Background())
	require.NoError(t, err)
	s.PublicRegistration = true
	_, err = m.UpdateSettings(context.Background(), s)
	require.NoError(t, err)
}

func (e *env) settings() users.Settings {
	e.t.Helper()
	s, err := e.m.Settings(context.Background())
	require.NoError(e.t, err)
	return s
}

// lastLink delivers pending mail and returns the link of the last mail to
// addr.
func (e *env) lastLink(addr string) string {
	e.t.Helper()
	_, err := e.m.DeliverPending(context.Background())
	require.NoError(e.t, err)
	ms := e.mail.To(addr)
	require.NotEmpty(e.t, ms, "no mail to %s", addr)
	return memmailer.Link(ms[len(ms)-1])
}

// ---------------------------------------------------------------------------
// The browser

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
	stopBrowser = func() {}
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	stopBrowser()
	os.Exit(code)
}

// chromiumPath finds Debian's chromium (or Chrome).
func chromiumPath() string {
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// startBrowser starts one headless chromium for the whole test binary.
func startBrowser() {
	path := chromiumPath()
	if path == "" {
		browserErr = errors.New("no chromium on PATH (apt-get install -y chromium)")
		return
	}
	dir, err := os.MkdirTemp("", "webui-chromium-")
	if err != nil {
		browserErr = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.WindowSize(1280, 800),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		_ = os.RemoveAll(dir)
		browserErr = fmt.Errorf("starting %s: %w", path, err)
		return
	}
	browserCtx = ctx
	stopBrowser = func() { cancel(); cancelAlloc(); _ = os.RemoveAll(dir) }
}

// page is one browser tab in a fresh browser context (no cookies shared
// with other tests), bound to a test. Its console is watched: an error
// message fails the test.
type page struct {
	t   *testing.T
	ctx context.Context
	e   *env
}

// newPage opens a tab, or skips the test when there is no browser (fails it
// under CI=true).
func (e *env) newPage() *page {
	t := e.t
	t.Helper()
	browserOnce.Do(startBrowser)
	if browserErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need chromium under CI: %v", browserErr)
		}
		t.Skipf("skipping browser test: %v", browserErr)
	}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	// The tests run in parallel (as many at once as -parallel, GOMAXPROCS
	// by default), each in a tab of its own: a deadline per test, far
	// beyond what one needs on a loaded machine.
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	p := &page{t: t, ctx: ctx, e: e}
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	// Every page must work with JavaScript off (the CSP forbids scripts
	// anyway): the tab runs none.
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)
	// Tests run in parallel, in tabs side by side: each tab behaves as the
	// focused one (focus rings, :focus-visible), as a lone tab would.
	_, err = chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
	require.NoError(t, err)
	var mu sync.Mutex
	var problems []string
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if isDocumentStatus(m) {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning && strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		// Let the last page report, then close the tab.
		_ = chromedp.Do(ctx, chromedp.Sleep(50*time.Millisecond))
		cancelT()
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	})
	return p
}

// isDocumentStatus reports whether m is Chromium's note that a page came
// with a 4xx status: the console answers a refused form so, on purpose, and
// the tests check that status. Any other failed load (the stylesheet, the
// icon) is an error.
func isDocumentStatus(m chromedp.ConsoleMessage) bool {
	return m.Source == "network" && strings.HasPrefix(m.Text, "Failed to load resource: the server responded with a status of 4") &&
		!strings.Contains(m.URL, "/static/")
}

// open navigates to a console path ("/settings") or an absolute URL and
// returns the HTTP status.
func (p *page) open(pathOrURL string) int {
	p.t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = p.e.base + u
	}
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Navigate(u))
	require.NoError(p.t, err, "open %s", u)
	return int(resp.Status)
}

// byName selects the elements with this role and accessible name (what a
// screen reader announces), as Chromium computes them. Role "field" stands
// for any form field: textbox, searchbox, combobox (a select, or a text
// field with suggestions).
func byName(role, name string) chromedp.QueryOption {
	roles := []string{role}
	if role == "field" {
		roles = []string{"textbox", "searchbox", "combobox"}
	}
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		var ids []cdp.BackendNodeID
		for _, role := range roles {
			res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{NodeID: n.NodeID, AccessibleName: name, Role: role})
			if err != nil {
				return nil, err
			}
			for _, x := range res.Nodes {
				if !x.Ignored && x.BackendDOMNodeID != 0 {
					ids = append(ids, x.BackendDOMNodeID)
				}
			}
		}
		if len(ids) == 0 {
			return nil, nil
		}
		pushed, err := cdp.Call(ctx, t, dom.PushNodesByBackendIDsToFrontend, dom.PushNodesByBackendIDsToFrontendParams{BackendNodeIDs: ids})
		if err != nil {
			return nil, err
		}
		return pushed.NodeIDs, nil
	})
}

func label(role, name string) string { return role + " " + strconvQuote(name) }

func strconvQuote(s string) string { return `"` + s + `"` }

// short gives one lookup ten seconds: an element that is not there fails
// the test quickly instead of waiting for the page's whole timeout.
func (p *page) short() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, 10*time.Second)
}

// fill enters text into the field with this label, as a person would:
// focus it, select what is there and delete it with the keyboard, then
// enter the text through the browser's editing (Input.insertText, as an
// input method does: the field's own limits such as maxlength apply). One
// call for the text, where typing it key by key took a round trip to the
// page for every key, the larger part of a fill.
func (p *page) fill(name, text string) {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx,
		chromedp.Focus(label("field", name), byName("field", name)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(kb.Delete)), "fill %q", name)
	if text != "" {
		_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
		require.NoError(p.t, err, "fill %q", name)
	}
}

// has reports whether an element with this role and name is on the page
// now. It looks once, without waiting: open and click return once the page
// has loaded, and the tab runs no script, so what is not there then does
// not come later.
func (p *page) has(role, name string) bool {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(label(role, name), byName(role, name), chromedp.AtLeast(0)))
	require.NoError(p.t, err, "look for %s %q", role, name)
	return len(nodes) > 0
}

// click clicks the element with this role and name, and waits for the page
// it leads to; it returns that page's HTTP status.
func (p *page) click(role, name string) int {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, chromedp.WaitVisible(label(role, name), byName(role, name))), "find %s %q", role, name)
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(label(role, name), byName(role, name)))
	require.NoError(p.t, err, "click %s %q", role, name)
	return int(resp.Status)
}

// press submits with the keyboard: focus the control and press Enter (a
// button) or Space (a checkbox), proving it is keyboard-operable.
func (p *page) press(role, name, key string) {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, chromedp.Focus(label(role, name), byName(role, name)), chromedp.KeyEvent(key)), "press %s on %s %q", key, role, name)
}

// check ticks the checkbox with this label (when it is not ticked).
func (p *page) check(name string, on bool) {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	checked, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[bool](label("checkbox", name), "checked", byName("checkbox", name)))
	require.NoError(p.t, err, "checkbox %q", name)
	if checked != on {
		require.NoError(p.t, chromedp.Do(ctx, chromedp.Click(label("checkbox", name), byName("checkbox", name))))
	}
}

// choose picks the option with this text in the select with this label.
func (p *page) choose(name, option string) {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	opts, err := chromedp.Run(ctx, chromedp.Nodes(label("combobox", name), byName("combobox", name)))
	require.NoError(p.t, err, "select %q", name)
	val, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("option"), "value", chromedp.FromNode(opts[0]),
		chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
			res, err := cdp.Call(ctx, t, dom.QuerySelectorAll, dom.QuerySelectorAllParams{NodeID: n.NodeID, Selector: "option"})
			if err != nil {
				return nil, err
			}
			for _, id := range res.NodeIDs {
				d, err := cdp.Call(ctx, t, dom.DescribeNode, dom.DescribeNodeParams{NodeID: id, Depth: ptr(int64(1))})
				if err != nil {
					return nil, err
				}
				if d.Node != nil && len(d.Node.Children) > 0 && strings.TrimSpace(d.Node.Children[0].NodeValue) == option {
					return []cdp.NodeID{id}, nil
				}
			}
			return nil, nil
		})))
	require.NoError(p.t, err, "option %q of %q", option, name)
	require.True(p.t, val.Exists, "option %q of %q has a value", option, name)
	require.NoError(p.t, chromedp.Do(ctx, chromedp.SetValue(label("combobox", name), val.Value, byName("combobox", name))))
}

func ptr[T any](v T) *T { return &v }

// text returns the text of the first element with this role (and name,
// when not empty).
func (p *page) text(role, name string) string {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(label(role, name), byName(role, name)))
	require.NoError(p.t, err, "text of %s %q", role, name)
	return s
}

// value returns the value of the field with this role and name.
func (p *page) value(role, name string) string {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Value(label(role, name), byName(role, name)))
	require.NoError(p.t, err, "value of %s %q", role, name)
	return s
}

// location is the page's URL path and query, relative to the console.
func (p *page) location() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	require.NoError(p.t, err)
	u, err := url.Parse(loc)
	require.NoError(p.t, err)
	return strings.TrimPrefix(u.RequestURI(), "/admin")
}

// shot writes docs/screenshots/<name>.png when -screenshots is given.
func (p *page) shot(name string) {
	p.t.Helper()
	if !*screenshots {
		return
	}
	b, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	require.NoError(p.t, err)
	require.NoError(p.t, os.MkdirAll("../docs/screenshots", 0o755))
	require.NoError(p.t, os.WriteFile("../docs/screenshots/"+name+".png", b, 0o644))
}

// describedBy returns the accessible description of the form field with
// this label (its hint and its error message, through aria-describedby).
func (p *page) describedBy(name string) string {
	p.t.Helper()
	ctx, cancel := p.short()
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(label("field", name), byName("field", name)))
	require.NoError(p.t, err, "field %q", name)
	desc, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (string, error) {
		res, err := cdp.Call(ctx, t, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{BackendNodeID: nodes[0].BackendNodeID})
		if err != nil {
			return "", err
		}
		for _, n := range res.Nodes {
			if n.BackendDOMNodeID != nodes[0].BackendNodeID || n.Description == nil {
				continue
			}
			var s string
			if err := json.Unmarshal(n.Description.Value, &s); err == nil {
				return s, nil
			}
		}
		return "", nil
	})
	require.NoError(p.t, err)
	return desc
}

// limits returns users.DefaultLimits with change applied: a test sets the
// limits it is about and keeps the others. One default differs: no
// RequestStall, which would make every password reset request and resend
// sleep 250 ms; TestForgotPasswordStallsByDefault checks the stall.
func limits(change func(*users.Limits)) users.Limits {
	l := users.DefaultLimits()
	l.RequestStall = 0
	change(&l)
	return l
}
