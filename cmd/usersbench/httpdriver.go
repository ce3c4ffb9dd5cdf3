package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
)

// httpDriver runs the operations against a server speaking Directus's
// wire format.
type httpDriver struct {
	cfg    config
	client *http.Client
	seq    *emailSeq
	box    mailbox // nil: no way to read tokens
	role   string  // created at start when there is an admin token
}

// tokenWait is how long prepare waits for the server to mail the tokens.
const tokenWait = 2 * time.Minute

func newHTTPDriver(ctx context.Context, cfg config) (*httpDriver, error) {
	n := 2*cfg.C + 8
	d := &httpDriver{
		cfg: cfg,
		seq: newEmailSeq(),
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: 90 * time.Second},
			// verify-email may answer with a redirect; it is the answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       time.Minute,
		},
	}
	switch {
	case cfg.MailLog != "":
		d.box = &logMailbox{path: cfg.MailLog}
	case cfg.DB != "":
		box, err := openDBMailbox(cfg.DB)
		if err != nil {
			return nil, err
		}
		d.box = box
	}
	if cfg.AdminToken == "" {
		return d, nil
	}
	// A role of the run's own, given to registered and invited users.
	var role struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := d.call(ctx, http.MethodPost, "/roles", map[string]any{"name": "usersbench " + d.seq.prefix}, true, &role); err != nil {
		return nil, fmt.Errorf("create role: %w", err)
	}
	d.role = role.Data.ID
	settings := map[string]any{
		"public_registration":              true,
		"public_registration_verify_email": true,
		"public_registration_role":         d.role,
	}
	if err := d.call(ctx, http.MethodPatch, "/settings", settings, true, nil); err != nil {
		return nil, fmt.Errorf("enable registration: %w", err)
	}
	return d, nil
}

func (d *httpDriver) describe() string { return d.cfg.HTTP }

func (d *httpDriver) close() error {
	d.client.CloseIdleConnections()
	if c, ok := d.box.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// settle does nothing: the server's worker is its own business.
func (d *httpDriver) settle(context.Context) error { return nil }

// send makes one request and returns the status and the body (read in
// full, so that the connection is reused).
func (d *httpDriver) send(ctx context.Context, method, path string, body any, admin bool) (int, []byte, error) {
	bearer := ""
	if admin {
		bearer = d.cfg.AdminToken
	}
	return d.sendAs(ctx, method, path, body, bearer)
}

// sendAs is send with "Authorization: Bearer <bearer>" (none when empty).
func (d *httpDriver) sendAs(ctx context.Context, method, path string, body any, bearer string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.cfg.HTTP+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, &kindError{kind: "transport", err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// call sends a request that must succeed (2xx) and decodes its body into
// out, when not nil.
func (d *httpDriver) call(ctx context.Context, method, path string, body any, admin bool, out any) error {
	status, b, err := d.send(ctx, method, path, body, admin)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return statusError(method, path, status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// callShed is call for untimed preparation: a request the server sheds
// (503: its hashing queue is full) is sent again after a short wait, up
// to tokenWait in all.
func (d *httpDriver) callShed(ctx context.Context, method, path string, body any, admin bool) error {
	deadline := time.Now().Add(tokenWait)
	for {
		status, b, err := d.send(ctx, method, path, body, admin)
		switch {
		case err != nil:
			return err
		case status/100 == 2:
			return nil
		case status != http.StatusServiceUnavailable || time.Now().After(deadline):
			return statusError(method, path, status, b)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// statusError is an unexpected answer, named by its status and Directus
// error code in the report.
func statusError(method, path string, status int, body []byte) error {
	var env struct {
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	kind := fmt.Sprintf("HTTP %d", status)
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &env) == nil && len(env.Errors) > 0 {
		kind += " " + env.Errors[0].Extensions.Code
		msg = env.Errors[0].Message
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &kindError{kind: kind, err: fmt.Errorf("%s %s: %s", method, path, msg)}
}

func (d *httpDriver) needAdmin(op string) error {
	if d.cfg.AdminToken == "" {
		return fmt.Errorf("%s over HTTP needs -admin-token", op)
	}
	return nil
}

func (d *httpDriver) needMailbox(op string) error {
	if d.box == nil {
		return fmt.Errorf("%s over HTTP needs the server's mail: -maillog (its stdout) or -db (its SQLite file)", op)
	}
	return nil
}

func (d *httpDriver) prepare(ctx context.Context, op string, n, c int) (opFunc, error) {
	pw := d.cfg.Password
	switch op {
	case opRegister:
		return func(ctx context.Context) error {
			return d.call(ctx, http.MethodPost, "/users/register", map[string]any{"email": d.seq.next(), "password": pw}, false, nil)
		}, nil

	case opVerify:
		if err := d.needMailbox(op); err != nil {
			return nil, err
		}
		emails := make([]string, n)
		for i := range emails {
			emails[i] = d.seq.next()
		}
		var i atomic.Int64
		err := parallelHTTP(ctx, c, n, func(ctx context.Context) error {
			e := emails[i.Add(1)-1]
			return d.callShed(ctx, http.MethodPost, "/users/register", map[string]any{"email": e, "password": pw}, false)
		})
		if err != nil {
			return nil, err
		}
		pool, err := awaitTokens(ctx, d.box, emails, tokenWait)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			tok, ok := pool.get()
			if !ok {
				return errExhausted
			}
			return d.verify(ctx, tok, false)
		}, nil

	case opVerifyGarbage:
		pool := garbageTokens(4096)
		return func(ctx context.Context) error { return d.verify(ctx, pool.cycle(), true) }, nil

	case opInvite:
		if err := d.needAdmin(op); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			return d.call(ctx, http.MethodPost, "/users/invite", map[string]any{"email": d.seq.next(), "role": d.role}, true, nil)
		}, nil

	case opAccept:
		if err := d.needAdmin(op); err != nil {
			return nil, err
		}
		if err := d.needMailbox(op); err != nil {
			return nil, err
		}
		emails := make([]string, n)
		for i := range emails {
			emails[i] = d.seq.next()
		}
		for start := 0; start < n; start += users.MaxInviteEmails {
			batch := emails[start:min(start+users.MaxInviteEmails, n)]
			if err := d.call(ctx, http.MethodPost, "/users/invite", map[string]any{"email": batch, "role": d.role}, true, nil); err != nil {
				return nil, err
			}
		}
		pool, err := awaitTokens(ctx, d.box, emails, tokenWait)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			tok, ok := pool.get()
			if !ok {
				return errExhausted
			}
			return d.call(ctx, http.MethodPost, "/users/invite/accept", map[string]any{"token": tok, "password": pw}, false, nil)
		}, nil

	case opLogin:
		if err := d.needAdmin(op); err != nil {
			return nil, err
		}
		emails := make([]string, loginUserCount(c))
		for i := range emails {
			emails[i] = d.seq.next()
			if err := d.call(ctx, http.MethodPost, "/users", map[string]any{"email": emails[i], "password": pw, "status": "active", "role": d.role}, true, nil); err != nil {
				return nil, fmt.Errorf("create login user: %w", err)
			}
		}
		var i atomic.Uint64
		return func(ctx context.Context) error {
			e := emails[i.Add(1)%uint64(len(emails))]
			return d.call(ctx, http.MethodPost, "/auth/login", map[string]any{"email": e, "password": pw}, false, nil)
		}, nil

	case opList, opMe:
		return d.prepareHTTPOnly(ctx, op, c)
	}
	return nil, fmt.Errorf("unknown operation %q", op)
}

// verify follows a verification link. A valid token must be accepted (2xx,
// or a redirect); a garbage one must be refused with a 4xx.
func (d *httpDriver) verify(ctx context.Context, tok string, garbage bool) error {
	path := "/users/register/verify-email?token=" + url.QueryEscape(tok)
	status, b, err := d.send(ctx, http.MethodGet, path, nil, false)
	switch {
	case err != nil:
		return err
	case garbage && status/100 == 4:
		return nil
	case garbage:
		return statusError(http.MethodGet, "/users/register/verify-email", status, b)
	case status/100 == 2 || status/100 == 3:
		return nil
	}
	return statusError(http.MethodGet, "/users/register/verify-email", status, b)
}

// parallelHTTP calls fn n times on c goroutines and returns the first
// error.
func parallelHTTP(ctx context.Context, c, n int, fn func(context.Context) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range min(c, n) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := fn(ctx); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// A mailbox finds the tokens the server mailed.
type mailbox interface {
	// tokens returns the latest token mailed to each address it has seen
	// so far.
	tokens(ctx context.Context) (map[string]string, error)
}

// awaitTokens polls box until every address in emails has a token or wait
// has passed.
func awaitTokens(ctx context.Context, box mailbox, emails []string, wait time.Duration) (*tokenPool, error) {
	deadline := time.Now().Add(wait)
	for {
		got, err := box.tokens(ctx)
		if err != nil {
			return nil, err
		}
		toks := make([]string, 0, len(emails))
		for _, e := range emails {
			if t := got[users.NormalizeEmail(e)]; t != "" {
				toks = append(toks, t)
			}
		}
		if len(toks) == len(emails) {
			return &tokenPool{toks: toks}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the server's mail held tokens for %d of %d addresses after %s", len(toks), len(emails), wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// logMailbox reads the output of a log mailer (mailer/logmailer, which
// examples/server uses when no SMTP host is set), incrementally.
type logMailbox struct {
	path   string
	offset int64
	rest   []byte
	found  map[string]string // address → the token of its latest mail
	counts map[string]int    // address → mails seen
}

func (b *logMailbox) tokens(context.Context) (map[string]string, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(b.offset, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	b.offset += int64(len(data))
	mails, rest := parseMailLog(append(b.rest, data...))
	b.rest = append([]byte(nil), rest...)
	if b.found == nil {
		b.found, b.counts = map[string]string{}, map[string]int{}
	}
	for _, m := range mails {
		b.counts[users.NormalizeEmail(m.to)]++
		if tok := memmailer.Token(users.Message{Text: m.text}); tok != "" {
			b.found[users.NormalizeEmail(m.to)] = tok
		}
	}
	return b.found, nil
}

// loggedMail is one mail of a log mailer's output.
type loggedMail struct{ to, subject, text string }

// The log mailer's frame (mailer/logmailer).
const (
	mailStart = "----- mail -----\n"
	mailEnd   = "\n----------------\n"
)

// parseMailLog parses the complete mails in data and returns them with
// the bytes after the last complete one (an unfinished mail, kept for the
// next read).
func parseMailLog(data []byte) ([]loggedMail, []byte) {
	var out []loggedMail
	for {
		i := bytes.Index(data, []byte(mailStart))
		if i < 0 {
			// Keep a tail that could be the start of a frame.
			return out, data[max(0, len(data)-len(mailStart)):]
		}
		j := bytes.Index(data[i+len(mailStart):], []byte(mailEnd))
		if j < 0 {
			return out, data[i:]
		}
		block := string(data[i+len(mailStart) : i+len(mailStart)+j])
		data = data[i+len(mailStart)+j+len(mailEnd):]
		var m loggedMail
		head, body, _ := strings.Cut(block, "\n\n")
		for line := range strings.SplitSeq(head, "\n") {
			if v, ok := strings.CutPrefix(line, "To: "); ok {
				m.to = v
			} else if v, ok := strings.CutPrefix(line, "Subject: "); ok {
				m.subject = v
			}
		}
		m.text = body
		out = append(out, m)
	}
}

// dbMailbox reads the mails still pending in the server's SQLite outbox,
// through the store's own ListMail. A delivered mail's body is erased, so
// it finds only mails the server's worker has not sent yet.
type dbMailbox struct {
	store *sqlitestore.Store
	db    io.Closer
}

func openDBMailbox(path string) (*dbMailbox, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	s, db, err := sqlitestore.Open(path)
	if err != nil {
		return nil, err
	}
	return &dbMailbox{store: s, db: db}, nil
}

func (b *dbMailbox) tokens(ctx context.Context) (map[string]string, error) {
	ms, err := b.store.ListMail(ctx, store.MailQuery{Status: store.MailPending})
	if err != nil {
		return nil, err
	}
	found := map[string]string{}
	for _, m := range ms { // oldest first: a later mail's token wins
		if tok := memmailer.Token(users.Message{Text: m.Text}); tok != "" {
			found[users.NormalizeEmail(m.To)] = tok
		}
	}
	return found, nil
}

func (b *dbMailbox) Close() error {
	return errors.Join(b.store.Close(), b.db.Close())
}
