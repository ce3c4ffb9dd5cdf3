// Package smtpmailer is a users.Mailer that sends mail through an SMTP
// server: a local relay, or a mail provider's submission port. The SMTP
// conversation and the MIME message are github.com/wneessen/go-mail's.
//
//	m, err := smtpmailer.New(smtpmailer.Config{
//		Host:     "smtp.example.com", // port 587, STARTTLS required
//		Username: "apikey",
//		Password: os.Getenv("SMTP_PASSWORD"),
//		From:     "Example <no-reply@example.com>",
//	})
//	mgr, err := users.New(store, m)
//
// # Messages
//
// Each mail is a multipart/alternative message, the text/plain part first
// and the text/html part second (a part whose text is empty is left out),
// in UTF-8 with the transfer encoding go-mail chooses, with From, To,
// Subject, Date and a Message-ID: the users.Message's own (the outbox keeps
// one per mail across retries, so a receiver can drop a copy a retry
// sends), or, when it has none, a random one on the From address's domain.
//
// # Connections
//
// Each Send opens a connection, sends one mail and says QUIT: no pool, no
// background goroutine, nothing to close. The delivery worker's Concurrency
// (users.Delivery) bounds how many connections are open at once. A
// Mailer is safe for concurrent use.
//
// # TLS
//
// By default (STARTTLS) the connection must be upgraded with STARTTLS, and
// the server's certificate must be valid for Host; a server that does not
// offer STARTTLS is an error rather than a silent downgrade. The one
// exception is a relay on the local machine — Host is a loopback address
// (127.0.0.0/8, ::1) or "localhost" — which nothing on a network can
// observe: when it does not offer STARTTLS (as Mailpit, MailHog and most
// local relays do not) the Mailer goes on in the clear, and when it offers
// it, the upgrade is made and must succeed. ImplicitTLS speaks TLS from
// the first byte (port 465). Opportunistic upgrades when the server offers
// STARTTLS and otherwise goes on in the clear, in which case only a
// password-hiding AUTH mechanism (CRAM-MD5) is used off the local machine.
// Plain never uses TLS: for a relay on the same host or a trusted network,
// and for tests.
//
// These modes meet nodemailer's (and so Directus's EMAIL_SMTP_SECURE and
// EMAIL_SMTP_IGNORE_TLS) as follows: secure: true is ImplicitTLS;
// ignoreTLS: true is Plain; neither is nodemailer's opportunistic default,
// which here is STARTTLS, stricter for relays on other hosts.
//
// # Authentication
//
// When Config.Username is set the Mailer authenticates with the first of
// PLAIN, LOGIN and CRAM-MD5 that the server offers, and fails if it offers
// none (rather than send unauthenticated). PLAIN and LOGIN send the
// password itself, so they are used only over TLS or to a relay on the
// local machine: credentials never cross a network in the clear, and New
// refuses a Plain configuration with a Username for any other host.
//
// # Checking the set-up
//
// Verify connects and goes through greeting, EHLO, STARTTLS (or the
// implicit TLS handshake) and AUTH as Send would, then says QUIT, without
// sending mail: a host runs it at start-up to report a misconfiguration
// at once rather than at the first mail, and users.Manager.Health runs it
// to see a relay that stopped (a Mailer with this method is probed; see
// users.Mailer). Its error is a *SetupError that names the step that
// failed.
//
// # Errors
//
// A Send error wraps users.ErrPermanent when retrying cannot help: the
// recipient address is invalid, or the server answered MAIL FROM, RCPT TO
// or DATA with a 5xx reply (the address was refused, the message
// rejected). Everything else is retryable and the outbox tries again later:
// 4xx replies, network and TLS errors, timeouts, and failures while
// setting up the session (greeting, EHLO, STARTTLS, AUTH) whatever their
// reply, as well as 530 "authentication required", because those come
// from the relay's configuration or health, not from this mail, and
// marking every mail failed during a misconfiguration would lose them. When ctx ends first the error wraps ctx.Err(). Error
// text never contains the message body (where tokens live) or the
// password: the outbox stores it with the mail.
package smtpmailer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/gousers/users"
)

// TLSMode says how the Mailer secures the connection.
type TLSMode int

const (
	// STARTTLS requires upgrading the connection with STARTTLS (RFC 3207);
	// a server that does not offer it is an error, unless Host is a
	// loopback address or "localhost" (see the package doc). The default.
	STARTTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte (RFC 8314), as on port
	// 465.
	ImplicitTLS
	// Opportunistic upgrades with STARTTLS when the server offers it and
	// goes on in the clear otherwise, open to a downgrade by anyone on the
	// path. PLAIN and LOGIN are not used on a clear connection.
	Opportunistic
	// Plain never uses TLS: for a relay on the same host or a trusted
	// network, and for tests. AUTH, if configured, goes in the clear, so
	// New accepts a Username in this mode only for a loopback Host.
	Plain
)

func (t TLSMode) String() string {
	switch t {
	case STARTTLS:
		return "STARTTLS"
	case ImplicitTLS:
		return "ImplicitTLS"
	case Opportunistic:
		return "Opportunistic"
	case Plain:
		return "Plain"
	}
	return "TLSMode(" + strconv.Itoa(int(t)) + ")"
}

// Config configures a Mailer. Host and From are required.
type Config struct {
	// Host is the SMTP server's host name or IP address, without a port.
	Host string
	// Port is the server's port. Default: 465 for ImplicitTLS, 25 for
	// Plain (a local relay), 587 (submission) otherwise.
	Port int
	// Username, when not empty, makes the Mailer authenticate (see the
	// package doc for the mechanisms). Password is never put in an error.
	Username, Password string
	// From is the sender, an RFC 5322 address with an optional display
	// name: "no-reply@example.com" or "Example <no-reply@example.com>".
	// It is both the From header and the envelope sender.
	From string
	// TLS is how the connection is secured. Default: STARTTLS (required,
	// except for a relay on the local machine that does not offer it).
	TLS TLSMode
	// TLSConfig configures TLS; it is cloned, and its ServerName set to
	// Host when empty. Default: ServerName Host, TLS 1.2 at least, the
	// system's roots. Unused in Plain mode.
	TLSConfig *tls.Config
	// Timeout caps one Send, connection included, unless ctx ends
	// earlier. Default: 30s.
	Timeout time.Duration
	// HeloName is the name sent with EHLO. Default: the OS host name.
	HeloName string
}

// Mailer sends mail over SMTP. Create it with New; it is safe for
// concurrent use.
type Mailer struct {
	host      string
	addr      string // host:port, to dial and to name in errors
	port      int
	user      string
	pass      string
	from      mail.Address
	idDomain  string // Message-ID right-hand side
	tlsMode   TLSMode
	tlsConfig *tls.Config // never nil; not modified after New
	timeout   time.Duration
	helo      string
	secrets   []string // the password and its encodings, scrubbed from errors
	loopback  bool     // host is a loopback address or "localhost"
	testDial  string   // tests only: dial this address instead of addr
}

// authRequired is the reply to MAIL FROM when the server wants AUTH and
// the Mailer has no Username (RFC 4954): a configuration error, retried.
const authRequired = 530

// DefaultTimeout is Config.Timeout's default.
const DefaultTimeout = 30 * time.Second

// New validates cfg and returns a Mailer. It does not connect.
func New(cfg Config) (*Mailer, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	switch {
	case host == "":
		return nil, errors.New("smtpmailer: Host is required")
	case strings.ContainsAny(host, " \t\r\n/@"):
		return nil, fmt.Errorf("smtpmailer: Host %q is not a host name or IP address", cfg.Host)
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return nil, fmt.Errorf("smtpmailer: Host %q includes a port; set Port instead", cfg.Host)
	}
	if cfg.TLS < STARTTLS || cfg.TLS > Plain {
		return nil, fmt.Errorf("smtpmailer: unknown TLS mode %d", int(cfg.TLS))
	}
	port := cfg.Port
	switch {
	case port < 0 || port > 65535:
		return nil, fmt.Errorf("smtpmailer: Port %d out of range", cfg.Port)
	case port == 0 && cfg.TLS == ImplicitTLS:
		port = 465
	case port == 0 && cfg.TLS == Plain:
		port = 25
	case port == 0:
		port = 587
	}
	if cfg.From == "" {
		return nil, errors.New("smtpmailer: From is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtpmailer: From %q is not a valid address: %v", cfg.From, err)
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("smtpmailer: Password is set but Username is empty")
	}
	loopback := IsLoopback(host)
	if cfg.TLS == Plain && cfg.Username != "" && !loopback {
		return nil, fmt.Errorf("smtpmailer: Plain mode would send the password in the clear to %s, which is not on this machine; "+
			"use STARTTLS or ImplicitTLS (or a relay on a loopback address)", host)
	}
	if strings.ContainsAny(cfg.Username, "\r\n") {
		return nil, errors.New("smtpmailer: Username contains a line break")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("smtpmailer: Timeout %v is negative", cfg.Timeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if strings.ContainsFunc(cfg.HeloName, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return nil, fmt.Errorf("smtpmailer: HeloName %q contains spaces or control characters", cfg.HeloName)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	m := &Mailer{
		host:      host,
		addr:      net.JoinHostPort(host, strconv.Itoa(port)),
		port:      port,
		user:      cfg.Username,
		pass:      cfg.Password,
		from:      *from,
		idDomain:  from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		tlsMode:   cfg.TLS,
		tlsConfig: tc,
		timeout:   timeout,
		helo:      cfg.HeloName,
		loopback:  loopback,
	}
	if cfg.Password != "" {
		b64 := base64.StdEncoding.EncodeToString
		m.secrets = []string{
			b64([]byte("\x00" + cfg.Username + "\x00" + cfg.Password)), // AUTH PLAIN
			b64([]byte(cfg.Password)),                                  // AUTH LOGIN
			cfg.Password,
		}
	}
	return m, nil
}

// Send sends msg and returns once the server has accepted it. It honours
// ctx's deadline and cancellation and caps the whole exchange at
// Config.Timeout. See the package doc for which errors wrap
// users.ErrPermanent.
func (m *Mailer) Send(ctx context.Context, msg users.Message) error {
	gm, err := m.message(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return m.error(nil, false, err)
	}
	deadline, _ := ctx.Deadline()
	wait := max(time.Until(deadline), time.Millisecond)
	c, err := gomail.NewClient(m.host, m.clientOptions(ctx, wait)...)
	if err != nil {
		return m.error(err, false)
	}
	err = c.DialAndSendWithContext(ctx, gm)
	if err == nil || gm.IsDelivered() {
		// Once the server took the mail, a failed RSET or QUIT after it
		// does not matter: reporting it would send the mail again.
		return nil
	}
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() <= 599 && se.ErrorCode() != authRequired {
		return m.error(err, true)
	}
	if replyCode(err) == 0 {
		// A network error after ctx ended, or after the connection
		// deadline (set from ctx's deadline) passed but before ctx's own
		// timer fired: say why, and let callers see ctx's error.
		if cerr := ctx.Err(); cerr != nil {
			return m.error(err, false, cerr)
		}
		if !time.Now().Before(deadline) {
			return m.error(err, false, context.DeadlineExceeded)
		}
	}
	return m.error(err, false)
}

// message builds the MIME message. A bad recipient is a permanent error.
func (m *Mailer) message(msg users.Message) (*gomail.Msg, error) {
	to, err := mail.ParseAddress(msg.To)
	if err != nil {
		return nil, &sendError{
			text: fmt.Sprintf("smtpmailer: invalid recipient address %q: %v", msg.To, err),
			errs: []error{users.ErrPermanent},
		}
	}
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	from := m.from
	gm.FromMailAddress(&from)
	gm.ToMailAddress(to)
	gm.Subject(msg.Subject)
	gm.SetDate()
	id := msg.MessageID
	if id == "" {
		id = strings.ToLower(rand.Text()) + "@" + m.idDomain
	} else if !validMessageID(id) {
		return nil, &sendError{
			text: fmt.Sprintf("smtpmailer: invalid Message-ID %q", msg.MessageID),
			errs: []error{users.ErrPermanent},
		}
	}
	gm.SetMessageIDWithValue(id)
	switch {
	case msg.HTML == "":
		gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	case msg.Text == "":
		gm.SetBodyString(gomail.TypeTextHTML, msg.HTML)
	default:
		gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return gm, nil
}

// clientOptions configures a go-mail Client for one Send, which ends with
// ctx; wait is the time left until ctx's deadline.
func (m *Mailer) clientOptions(ctx context.Context, wait time.Duration) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(m.port),
		// go-mail sets this as the connection's deadline; closing the
		// connection when ctx ends (see dial) covers the rest.
		gomail.WithTimeout(wait),
		gomail.WithTLSConfig(m.tlsConfig),
		gomail.WithDialContextFunc(m.dial(ctx)),
		gomail.WithoutNoop(), // a fresh connection needs no liveness check
	}
	switch m.tlsMode {
	case STARTTLS:
		policy := gomail.TLSMandatory
		if m.loopback {
			policy = gomail.TLSOpportunistic // nothing on a network to protect from
		}
		opts = append(opts, gomail.WithTLSPolicy(policy))
	case Opportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case Plain:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL()) // dial does the handshake
	}
	if m.helo != "" {
		opts = append(opts, gomail.WithHELO(m.helo))
	}
	if m.user != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&auth{
			user: m.user, pass: m.pass, host: m.host, clearOK: m.loopback,
		}))
	}
	return opts
}

// dial connects to the server (with the TLS handshake in ImplicitTLS
// mode) and closes the connection as soon as sendCtx ends, so that a
// cancelled or timed-out Send returns at once even when the server stalls
// in the middle of the conversation; go-mail itself only watches the
// context while dialling.
func (m *Mailer) dial(sendCtx context.Context) gomail.DialContextFunc {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(ctx, network, m.dialAddr())
		if err != nil {
			return nil, err
		}
		if err := m.checkPeer(raw); err != nil {
			_ = raw.Close()
			return nil, err
		}
		context.AfterFunc(sendCtx, func() { _ = raw.Close() })
		if m.tlsMode != ImplicitTLS {
			return raw, nil
		}
		conn := tls.Client(raw, m.tlsConfig)
		if err := conn.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// auth is an smtp.Auth that picks the mechanism once it sees what the
// server offers and whether the connection is encrypted, then delegates to
// go-mail's implementation. One auth serves one connection.
type auth struct {
	user, pass, host string
	clearOK          bool // a loopback relay: the password may travel in the clear
	mech             smtp.Auth
}

func (a *auth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	offers := func(mech string) bool {
		return slices.ContainsFunc(s.Auth, func(o string) bool { return strings.EqualFold(o, mech) })
	}
	safe := s.TLS || a.clearOK
	switch {
	case safe && offers("PLAIN"):
		a.mech = smtp.PlainAuth("", a.user, a.pass, s.Name, true)
	case safe && offers("LOGIN"):
		a.mech = smtp.LoginAuth(a.user, a.pass, s.Name, true)
	case offers("CRAM-MD5"):
		a.mech = smtp.CRAMMD5Auth(a.user, a.pass)
	case len(s.Auth) == 0:
		return "", nil, errors.New("server offers no AUTH mechanism, but a Username is configured")
	case !safe:
		return "", nil, fmt.Errorf("server offers AUTH %s only, which would send the password in the clear (no STARTTLS)",
			strings.Join(s.Auth, " "))
	default:
		return "", nil, fmt.Errorf("server offers AUTH %s; supported: PLAIN, LOGIN, CRAM-MD5", strings.Join(s.Auth, " "))
	}
	return a.mech.Start(s)
}

func (a *auth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.mech.Next(fromServer, more)
}

// sendError is a Send failure. Its text is go-mail's (or the context's),
// prefixed and scrubbed of the password; it unwraps to its causes, and to
// users.ErrPermanent when permanent.
type sendError struct {
	text string
	errs []error
}

func (e *sendError) Error() string   { return e.text }
func (e *sendError) Unwrap() []error { return e.errs }

// error builds a Send error from go-mail's error cause (may be nil) and,
// if given, the context error that explains it, which then leads the text.
func (m *Mailer) error(cause error, permanent bool, ctxErr ...error) error {
	e := &sendError{}
	var parts []string
	for _, x := range ctxErr {
		parts = append(parts, x.Error())
		e.errs = append(e.errs, x)
	}
	if cause != nil {
		// go-mail joins errors with line breaks; keep log lines whole.
		parts = append(parts, strings.ReplaceAll(cause.Error(), "\n", "; "))
		e.errs = append(e.errs, cause)
	}
	if permanent {
		e.errs = append(e.errs, users.ErrPermanent)
	}
	text := strings.Join(parts, ": ")
	for _, s := range m.secrets {
		text = strings.ReplaceAll(text, s, "[redacted]")
	}
	e.text = "smtpmailer: " + m.addr + ": " + text
	return e
}

// replyCode is the SMTP reply code carried by err, 0 if none.
func replyCode(err error) int {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() != 0 {
		return se.ErrorCode()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// validMessageID reports whether id can be a Message-ID between angle
// brackets: left@right, each side printable ASCII without white space,
// angle brackets, "@" (but the one), quotes or backslashes, so that it
// cannot break the header it goes in.
func validMessageID(id string) bool {
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || len(id) > 250 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`<>"\\`, c) >= 0 || c == '@' && i != len(left) {
			return false
		}
	}
	return true
}
