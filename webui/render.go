package webui

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed templates, one per page, each over the base layout.
type pages map[string]*template.Template

func parsePages() pages {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	ps := pages{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t := template.New("layout.html").Funcs(funcs)
		ps[base] = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n))
	}
	return ps
}

var funcs = template.FuncMap{
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"field": func(p *page, name, label, typ string, opts ...string) fieldData {
		f := fieldData{ID: name, Name: name, Label: label, Type: typ, Err: p.Errors[name]}
		if typ != "password" {
			f.Value = p.Values[name]
		}
		for _, o := range opts {
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "required":
				f.Required = true
			case "autocomplete":
				f.Autocomplete = v
			case "hint":
				f.Hint = v
			case "id":
				f.ID = v
			case "list":
				f.List = v
			case "value":
				f.Value = v
			}
		}
		return f
	},
	"choice": choice,
	// seg escapes an id as one path segment: html/template leaves '/' and
	// '?' alone in a URL, and an id holding them would name another page.
	"seg":    url.PathEscape,
	"plural": plural,
}

// choice is one labelled select of the page p (the "select" template):
// the field name (its id too), its label, the selected value, and the
// options, statuses or roles. opts are "first=Label", an option with the
// empty value before the others, and "hint=…".
func choice(p *page, name, label, selected string, options any, opts ...string) selectData {
	d := selectData{fieldData: fieldData{ID: name, Name: name, Label: label, Err: p.Errors[name]}}
	add := func(value, label string) {
		d.Options = append(d.Options, option{Value: value, Label: label, Selected: value == selected})
	}
	for _, o := range opts {
		switch k, v, _ := strings.Cut(o, "="); k {
		case "first":
			add("", v)
		case "hint":
			d.Hint = v
		}
	}
	switch options := options.(type) {
	case []statusOption:
		for _, o := range options {
			add(string(o.Value), o.Label)
		}
	case []*users.Role:
		for _, r := range options {
			add(r.ID, r.Name)
		}
	default:
		panic(fmt.Sprintf("webui: choice: options of type %T", options))
	}
	return d
}

// selectData is one labelled select (the "select" template).
type selectData struct {
	fieldData
	Options []option
}

type option struct {
	Value, Label string
	Selected     bool
}

// fieldData is one labelled input (the "input" template).
type fieldData struct {
	ID, Name, Label, Type, Value, Err, Autocomplete, Hint, List string
	Required                                                    bool
}

// page is what every template gets.
type page struct {
	Title  string
	Brand  string // the project name (Settings.ProjectName), else "Users"
	Prefix string
	// SignIn is where "Sign In" links go: the built-in sign-in, or the
	// app's home when the host app signs people in (WithAuthorizer).
	SignIn string
	CSS    string
	Icon   string
	// Nav is the current section ("users", "roles", "settings"); empty on
	// the public pages, which show no navigation.
	Nav     string
	Admin   bool   // an administrator is signed in: show the navigation
	Member  bool   // a user is signed in on an account page
	Me      string // the signed-in administrator's email, if known
	SignOut bool   // the built-in sign-in is on: show "Sign Out"
	Flash   *flash
	// Alert is a form-level error; Errors, field-level ones, by field name.
	Alert  string
	Errors map[string]string
	// Values are the submitted values to show again (never passwords).
	Values map[string]string
	Data   any
}

// messageData is the "message" page: an outcome and what to do next.
type messageData struct {
	Status, Alert     string
	Next              string
	NextURL, NextText string
	Form              *actionForm
	// Secondary shows NextURL as a plain link beside the form's button (a
	// confirmation page's "Cancel").
	Secondary bool
}

// actionForm is a one-button form on a message page.
type actionForm struct {
	Action, Button string
	Hidden         map[string]string
}

// render executes the page template name into w with status.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := h.pages[name]
	if !ok {
		panic("webui: no template " + name)
	}
	p.Prefix, p.CSS, p.Icon, p.SignIn = h.p, h.static.cssURL, h.static.iconURL, h.signInURL()
	p.Brand = "Users"
	if s, err := h.m.Settings(r.Context()); err == nil && s.ProjectName != "" {
		p.Brand = s.ProjectName
	}
	if a := adminFrom(r.Context()); a != nil {
		p.Admin, p.Me = true, a.email
		p.SignOut = h.cfg.authorize == nil
	}
	if m := memberFrom(r.Context()); m != nil {
		p.Member, p.Me, p.SignOut = true, m.p.User.Email, true
	}
	if p.Flash == nil && r.Method == http.MethodGet {
		p.Flash = h.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		h.cfg.log.ErrorContext(r.Context(), "webui: render", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// flash is a short outcome carried across a POST/Redirect/GET in a signed
// cookie: Status lines for what was done, Alert lines for what failed,
// Warn lines for what was refused while the rest went on (styled as
// warnings, not inside the success box), Note lines for what was left
// alone.
type flash struct {
	Status []string `json:"s,omitempty"`
	Alert  []string `json:"a,omitempty"`
	Warn   []string `json:"w,omitempty"`
	Note   []string `json:"n,omitempty"`
	// NoConsole says the person a public flow served may not use the
	// console: the page after it offers no console sign-in.
	NoConsole bool `json:"c,omitempty"`
}

const (
	flashCookie   = "webui_flash"
	maxFlashBytes = 3000 // a cookie holds about 4 KB
)

// redirect answers a successful POST: 303 to target, with f shown there.
func (h *handler) redirect(w http.ResponseWriter, r *http.Request, target string, f *flash) {
	if f != nil {
		h.setFlash(w, r, f)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (h *handler) setFlash(w http.ResponseWriter, r *http.Request, f *flash) {
	doc, _ := json.Marshal(f)
	lines := func() int { return len(f.Status) + len(f.Alert) + len(f.Warn) + len(f.Note) }
	for len(doc) > maxFlashBytes && lines() > 1 {
		// Too many lines for a cookie: keep the first ones of each kind
		// (what was done first, refusals last) and say so.
		n := lines()
		switch {
		case len(f.Status) > 2:
			f.Status = f.Status[:(len(f.Status)+1)/2]
		case len(f.Note) > 1:
			f.Note = f.Note[:len(f.Note)/2]
		case len(f.Warn) > 1:
			f.Warn = f.Warn[:len(f.Warn)/2]
		default:
			f.Alert = f.Alert[:len(f.Alert)/2]
		}
		more := n - lines()
		f.Status = append(f.Status[:len(f.Status):len(f.Status)], plural(more, "more line was", "more lines were")+" left out.")
		doc, _ = json.Marshal(f)
	}
	v := base64.RawURLEncoding.EncodeToString(doc)
	http.SetCookie(w, h.cookie(r, flashCookie, v+"."+h.sign(v), 60))
}

// takeFlash reads and clears the flash cookie; a cookie whose signature
// does not hold is ignored.
func (h *handler) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, h.cookie(r, flashCookie, "", -1))
	v, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(h.sign(v))) {
		return nil
	}
	doc, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal(doc, &f) != nil {
		return nil
	}
	return &f
}

func (h *handler) sign(v string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("flash:" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookie builds one of the console's cookies: HttpOnly, SameSite=Lax,
// scoped to the console, Secure as WithSecureCookies says. maxAge < 0
// deletes it; 0 makes a browser-session cookie.
func (h *handler) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	secure := r.TLS != nil
	if h.cfg.secure != nil {
		secure = *h.cfg.secure
	}
	return &http.Cookie{
		Name: name, Value: value, Path: h.p + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	}
}

// staticFiles are the embedded assets, with versioned URLs so that they
// can be cached for long.
type staticFiles struct {
	cssURL, iconURL string
	etags           map[string]string
}

func loadStatic() staticFiles {
	s := staticFiles{etags: map[string]string{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(staticFS, "static/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		s.etags[e.Name()] = hex.EncodeToString(sum[:8])
	}
	return s
}

func (h *handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, h.p+"/static/")
	tag, ok := h.static.etags[name]
	if !ok || strings.Contains(name, "/") {
		h.notFound(w, r)
		return
	}
	b, _ := fs.ReadFile(staticFS, "static/"+name)
	hdr := w.Header()
	hdr.Set("ETag", `"`+tag+`"`)
	if r.URL.Query().Get("v") == tag {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

func (s *staticFiles) url(prefix, name string) string {
	return prefix + "/static/" + name + "?v=" + s.etags[name]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// policyHint describes the password policy in force, as a password
// field's hint: its description (the settings', else the preset's), never
// the regular expression. "" when there is no policy.
func (h *handler) policyHint(r *http.Request) string {
	s, err := h.m.Settings(r.Context())
	if err != nil || s.PasswordPolicy == nil {
		return ""
	}
	d := s.PasswordPolicyDescription
	if d == "" {
		d = s.PasswordPolicy.Description()
	}
	if d == "" {
		return "The password must meet the password policy."
	}
	return "The password must have " + strings.TrimSuffix(d, ".") + "."
}

// tokenPage is what the pages behind mailed links show.
type tokenData struct {
	Token  string
	Email  string // the address the link was mailed to
	Action string // the submit button's text
	Policy string // the password policy, worded
	Bad    string // why the link is no good ("" when it is)
	Next   string // what to do then
	// NextURL and NextText make a link for what to do then, if any.
	NextURL, NextText string
}

// doneFlash is the outcome of a public flow that left u able to sign in:
// msg for an administrator, who goes on to the console's sign-in;
// appMsg, and no console sign-in, for anyone else, whom the console
// would refuse.
func (h *handler) doneFlash(r *http.Request, u *users.User, msg, appMsg string) *flash {
	if u == nil || h.cfg.landing != "" { // everyone signs in here
		return &flash{Status: []string{msg}}
	}
	admin, err := h.m.HasAdminAccess(r.Context(), u.ID)
	if err != nil {
		h.cfg.log.ErrorContext(r.Context(), "webui: reading admin access", "error", err)
	}
	if admin || err != nil {
		return &flash{Status: []string{msg}}
	}
	return &flash{Status: []string{appMsg}, NoConsole: true}
}

// done is the page a finished public flow redirects to.
func (h *handler) done(title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := h.takeFlash(w, r)
		d := messageData{NextURL: h.signInURL(), NextText: "Sign In"}
		if f == nil {
			f = &flash{}
		} else if f.NoConsole && h.cfg.authorize == nil && h.cfg.landing == "" {
			d.NextURL, d.NextText = "", ""
		}
		h.render(w, r, http.StatusOK, "message", &page{Title: title, Flash: f, Data: d})
	}
}
