// Package smtptest runs a real SMTP server in the test process, for tests
// of code that sends mail over SMTP (smtpmailer's own tests, and end-to-end
// tests of programs built on it).
//
// The server is github.com/emersion/go-smtp listening on 127.0.0.1 at a
// free port. It speaks plain SMTP, STARTTLS or implicit TLS with a
// self-signed certificate made at start-up (ClientTLSConfig trusts it),
// can require AUTH (PLAIN, LOGIN, CRAM-MD5) with given credentials, records
// and parses every message it accepts, records every MAIL FROM and RCPT TO
// it receives (Attempts, whatever it answered), and can be told to refuse
// (4xx or 5xx) or to stall at MAIL, RCPT or DATA.
//
//	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
//	srv.Refuse(smtptest.Rcpt, 451, 2) // the next two RCPT TO get 451
//	... send ...
//	msgs := srv.Messages() // or srv.Wait(ctx, n) when mail is sent in the background
package smtptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is how the server offers TLS.
type TLSMode int

const (
	// Plain: no TLS, STARTTLS not offered. AUTH, if configured, is offered
	// in the clear.
	Plain TLSMode = iota
	// STARTTLS: STARTTLS offered (not required); AUTH, if configured, is
	// offered only once TLS is on.
	STARTTLS
	// ImplicitTLS: TLS from the first byte, as on port 465.
	ImplicitTLS
)

// Options configures a Server. The zero value is a plain-text server
// without AUTH that accepts every message.
type Options struct {
	TLS TLSMode
	// Username and Password, when Username is not empty, make the server
	// require AUTH before MAIL FROM (530 otherwise) and accept only these
	// credentials (535 otherwise).
	Username, Password string
	// AuthMechanisms are the SASL mechanisms offered when Username is set,
	// in order, from "PLAIN", "LOGIN" and "CRAM-MD5". Default: PLAIN.
	AuthMechanisms []string
}

// Stage is the point of the SMTP transaction where the server refuses or
// stalls.
type Stage int

// Stages.
const (
	Mail Stage = iota + 1 // the reply to MAIL FROM
	Rcpt                  // the reply to RCPT TO
	Data                  // the reply to the end of DATA, after the body was sent
)

func (s Stage) String() string {
	switch s {
	case Mail:
		return "MAIL"
	case Rcpt:
		return "RCPT"
	case Data:
		return "DATA"
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// Message is one message the server accepted, parsed.
type Message struct {
	From string   // the envelope sender (MAIL FROM)
	To   []string // the envelope recipients (RCPT TO)
	// Header is the parsed header, as sent (encoded words not decoded).
	Header mail.Header
	// Subject is the Subject header, RFC 2047-decoded.
	Subject string
	// MediaType is the top-level media type, e.g. "multipart/alternative".
	MediaType string
	// Parts are the leaf parts in order: for a multipart message the parts
	// (nested multiparts flattened), otherwise the body itself.
	Parts []Part
	// Text and HTML are the decoded bodies of the first text/plain and the
	// first text/html part ("" if there is none).
	Text, HTML string
	// Raw is the message as received.
	Raw []byte
	// TLS reports whether the message came over a TLS connection.
	TLS bool
	// AuthUser is the user the client authenticated as, "" if none.
	AuthUser string
	// Err is set if the message did not parse; the fields above are then
	// what could be read before the error.
	Err error
}

// Part is one leaf MIME part.
type Part struct {
	MediaType        string // e.g. "text/plain"
	Charset          string // the charset parameter, lower-cased; "" if absent
	TransferEncoding string // the Content-Transfer-Encoding as sent, lower-cased; "" if absent
	// Body is decoded from the transfer encoding (not from the charset);
	// in text/* parts CRLF line ends become "\n". The body of a
	// single-part message ends with the line break that ends every
	// message, whether or not the sender's text had one.
	Body string
}

// Server is a running SMTP server. Its methods are safe for concurrent
// use.
type Server struct {
	opts      Options
	srv       *smtp.Server
	ln        net.Listener
	addr      *net.TCPAddr
	clientTLS *tls.Config
	served    chan struct{} // closed when Serve returned
	done      chan struct{} // closed by Close: frees stalled sessions

	closeOnce sync.Once
	mu        sync.Mutex
	msgs      []Message
	attempts  []Attempt
	refusals  map[Stage]*refusal
	stalls    map[Stage]bool
	release   chan struct{} // closed by Accept: frees stalled sessions
	recorded  chan struct{} // closed and replaced when a message or an attempt is recorded
}

// Attempt is a MAIL FROM or RCPT TO the server received from an
// authenticated (or, without AUTH, any) client. It is recorded before the
// server answers, so a refused or stalled command is recorded too: a test
// can wait for a sender to have tried.
type Attempt struct {
	Stage Stage  // Mail or Rcpt
	Addr  string // the envelope sender (Mail) or the recipient (Rcpt)
}

type refusal struct {
	code  int
	times int // < 0: until Accept
}

// Start starts a server and stops it when t's test ends. It fails t if the
// server cannot start.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a server; the caller must Close it. Use Start in tests;
// NewServer serves examples and programs, which have no testing.TB.
func NewServer(opts Options) (*Server, error) {
	if opts.Username == "" && opts.Password != "" {
		return nil, errors.New("smtptest: Password without Username")
	}
	if opts.Username != "" && len(opts.AuthMechanisms) == 0 {
		opts.AuthMechanisms = []string{sasl.Plain}
	}
	for _, m := range opts.AuthMechanisms {
		if !slices.Contains([]string{sasl.Plain, sasl.Login, "CRAM-MD5"}, m) {
			return nil, fmt.Errorf("smtptest: unsupported AUTH mechanism %q", m)
		}
	}
	if opts.TLS < Plain || opts.TLS > ImplicitTLS {
		return nil, fmt.Errorf("smtptest: unknown TLSMode %d", opts.TLS)
	}
	s := &Server{
		opts:     opts,
		served:   make(chan struct{}),
		done:     make(chan struct{}),
		refusals: map[Stage]*refusal{},
		stalls:   map[Stage]bool{},
		release:  make(chan struct{}),
		recorded: make(chan struct{}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtptest: listen: %w", err)
	}
	s.addr = ln.Addr().(*net.TCPAddr)

	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.EnableSMTPUTF8 = true
	s.srv.ErrorLog = discardLogger{}

	if opts.TLS != Plain {
		serverTLS, clientTLS, err := selfSigned()
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.clientTLS = clientTLS
		if opts.TLS == STARTTLS {
			s.srv.TLSConfig = serverTLS
		} else {
			ln = tls.NewListener(ln, serverTLS)
		}
	} else {
		// AUTH in the clear: the only way a plain-text server can offer it.
		s.srv.AllowInsecureAuth = true
	}
	s.ln = ln
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server: it closes the listener and every connection, and
// frees stalled sessions. Later connections are refused. Close is
// idempotent; Start calls it when the test ends.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		_ = s.srv.Close()
		// Serve may not have registered the listener with srv yet.
		_ = s.ln.Close()
		<-s.served
	})
}

// Addr is the server's address, "127.0.0.1:<port>".
func (s *Server) Addr() string { return s.addr.String() }

// Host is "127.0.0.1".
func (s *Server) Host() string { return s.addr.IP.String() }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// ClientTLSConfig returns a new TLS client configuration that trusts the
// server's certificate (valid for 127.0.0.1, ::1 and localhost). Its
// ServerName is empty; set it, or let the client derive it from the host
// it dials. It is nil for a Plain server.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns the messages accepted so far, oldest first. A message is
// recorded before the server acknowledges its DATA, so a client that got
// the acknowledgement finds its message here.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Refuse makes the server answer code (4xx or 5xx, e.g. 451 or 550) at the
// given stage, for the next times transactions that reach it; times <= 0
// means until Accept. It replaces an earlier refusal at that stage.
func (s *Server) Refuse(at Stage, code int, times int) {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtptest: Refuse code %d is not 4xx or 5xx", code))
	}
	if times <= 0 {
		times = -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusals[at] = &refusal{code: code, times: times}
}

// Stall makes the server stop answering at the given stage: a session that
// reaches it waits, reply unsent, until Accept or Close.
func (s *Server) Stall(at Stage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalls[at] = true
}

// Accept clears every refusal and stall and frees stalled sessions, which
// then go on normally.
func (s *Server) Accept() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refusals)
	clear(s.stalls)
	close(s.release)
	s.release = make(chan struct{})
}

// at applies the refusal and stall set for stage, if any.
func (s *Server) at(stage Stage) error {
	s.mu.Lock()
	stall, release := s.stalls[stage], s.release
	s.mu.Unlock()
	if stall {
		select {
		case <-release:
		case <-s.done:
			return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "smtptest: shutting down"}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.refusals[stage]
	if r == nil {
		return nil
	}
	if r.times > 0 {
		r.times--
		if r.times == 0 {
			delete(s.refusals, stage)
		}
	}
	return &smtp.SMTPError{
		Code:         r.code,
		EnhancedCode: smtp.EnhancedCode{r.code / 100, 0, 0},
		Message:      fmt.Sprintf("smtptest: refused at %s", stage),
	}
}

// Wait waits until at least n messages were accepted and returns them
// all, as Messages does; or returns ctx's error when ctx ends first. It
// serves tests of code that sends in the background (the outbox's Run).
func (s *Server) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, recorded := slices.Clone(s.msgs), s.recorded
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-recorded:
		case <-ctx.Done():
			return msgs, fmt.Errorf("smtptest: %d of %d messages: %w", len(msgs), n, ctx.Err())
		}
	}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.recorded)
	s.recorded = make(chan struct{})
}

// Attempts returns the MAIL FROM and RCPT TO commands received so far,
// oldest first, whether the server accepted, refused or stalled them.
func (s *Server) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attempts)
}

// WaitAttempts waits until done, called with the attempts so far (as
// Attempts returns them) each time one is recorded, returns true; it
// returns them then, or with ctx's error when ctx ends first.
func (s *Server) WaitAttempts(ctx context.Context, done func([]Attempt) bool) ([]Attempt, error) {
	for {
		s.mu.Lock()
		as, recorded := slices.Clone(s.attempts), s.recorded
		s.mu.Unlock()
		if done(as) {
			return as, nil
		}
		select {
		case <-recorded:
		case <-ctx.Done():
			return as, fmt.Errorf("smtptest: after %d attempts: %w", len(as), ctx.Err())
		}
	}
}

func (s *Server) attempt(a Attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, a)
	close(s.recorded)
	s.recorded = make(chan struct{})
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

// session is one SMTP connection's state. go-smtp calls its methods from
// the connection's goroutine only.
type session struct {
	s        *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errAuthFailed   = smtp.ErrAuthFailed // 535 5.7.8
)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return ss.s.opts.AuthMechanisms
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(ss.AuthMechanisms(), mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(user, pass string) error {
		o := ss.s.opts
		if user != o.Username || pass != o.Password {
			return errAuthFailed
		}
		ss.authUser = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return errAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	default: // CRAM-MD5
		return &cramMD5Server{want: ss.s.opts, authUser: &ss.authUser}, nil
	}
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.authUser == "" {
		return errAuthRequired
	}
	ss.s.attempt(Attempt{Stage: Mail, Addr: from})
	if err := ss.s.at(Mail); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.attempt(Attempt{Stage: Rcpt, Addr: to})
	if err := ss.s.at(Rcpt); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if err := ss.s.at(Data); err != nil {
		_, _ = io.Copy(io.Discard, r)
		return err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parse(raw)
	m.From, m.To, m.AuthUser = ss.from, slices.Clone(ss.to), ss.authUser
	_, m.TLS = ss.conn.TLSConnectionState()
	ss.s.record(m)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of the (obsolete, widely used) LOGIN
// mechanism: prompt for the user name, then the password.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough // initial response: the user name
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// cramMD5Server is the server side of CRAM-MD5 (RFC 2195).
type cramMD5Server struct {
	want      Options
	authUser  *string
	challenge []byte
}

func (c *cramMD5Server) Next(resp []byte) ([]byte, bool, error) {
	if c.challenge == nil {
		c.challenge = fmt.Appendf(nil, "<%s@smtptest>", rand.Text())
		return c.challenge, false, nil
	}
	user, digest, ok := strings.Cut(string(resp), " ")
	mac := hmac.New(md5.New, []byte(c.want.Password))
	mac.Write(c.challenge)
	if !ok || user != c.want.Username || !hmac.Equal([]byte(digest), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		return nil, true, errAuthFailed
	}
	*c.authUser = user
	return nil, true, nil
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost, and the
// server and client TLS configurations that use and trust it.
func selfSigned() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"smtptest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client, nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}
