package smtpmailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// Step is a step of an SMTP session's set-up, as a SetupError names it.
type Step string

// Set-up steps, in the order a session goes through them.
const (
	// StepConnect is the TCP connection to Host and Port.
	StepConnect Step = "connect"
	// StepTLS is the TLS handshake (implicit TLS) or the STARTTLS upgrade,
	// the server's certificate included, or a missing STARTTLS offer where
	// TLS is required.
	StepTLS Step = "tls"
	// StepGreeting is the server's greeting and the EHLO exchange.
	StepGreeting Step = "greeting"
	// StepAuth is authentication with Username and Password.
	StepAuth Step = "auth"
)

// SetupError is Verify's error: the step that failed and why. Its text
// never contains the password.
type SetupError struct {
	Step Step
	Addr string // host:port
	Err  error
	text string
}

func (e *SetupError) Error() string { return e.text }

// Unwrap returns the cause.
func (e *SetupError) Unwrap() error { return e.Err }

// Verify checks that the server can be used without sending mail: it
// connects, reads the greeting, says EHLO, secures the connection as the
// TLS mode says (the implicit TLS handshake, or STARTTLS — required unless
// the relay is on the local machine), authenticates when a Username is
// set, and says QUIT, all within Config.Timeout unless ctx ends first. It
// is nodemailer's verify(); Directus runs that at start-up
// (EMAIL_VERIFY_SETUP).
//
// The error is a *SetupError naming the step that failed; when ctx ended
// first it also wraps ctx's error. Its text never contains the password.
func (m *Mailer) Verify(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	fail := func(step Step, err error) error {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		text := strings.ReplaceAll(err.Error(), "\n", "; ")
		for _, s := range m.secrets {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
		return &SetupError{Step: step, Addr: m.addr, Err: err,
			text: "smtpmailer: " + m.addr + ": " + string(step) + ": " + text}
	}

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", m.dialAddr())
	if err != nil {
		return fail(StepConnect, err)
	}
	defer raw.Close()
	if err := m.checkPeer(raw); err != nil {
		return fail(StepConnect, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()

	conn := raw
	if m.tlsMode == ImplicitTLS {
		tc := tls.Client(raw, m.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(StepTLS, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return fail(StepGreeting, err)
	}
	if err := c.Hello(m.heloName()); err != nil {
		return fail(StepGreeting, err)
	}
	offered, _ := c.Extension("STARTTLS")
	switch {
	case m.tlsMode == STARTTLS && !offered && !m.loopback:
		return fail(StepTLS, errors.New("the server does not offer STARTTLS, and TLS is required for a relay on another host"))
	case (m.tlsMode == STARTTLS || m.tlsMode == Opportunistic) && offered:
		if err := c.StartTLS(m.tlsConfig); err != nil {
			return fail(StepTLS, err)
		}
	}
	if m.user != "" {
		if err := c.Auth(&auth{user: m.user, pass: m.pass, host: m.host, clearOK: m.loopback}); err != nil {
			return fail(StepAuth, err)
		}
	}
	// The set-up succeeded; a failed QUIT says nothing about it.
	_ = c.Quit()
	return nil
}

// IsLoopback reports whether host names the local machine: an IPv4
// address in 127.0.0.0/8, the IPv6 address ::1 (brackets, a zone or an
// IPv4-mapped form allowed), or the name "localhost" (any case, with or
// without a final dot). It does not resolve names.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.WithZone("").Unmap().IsLoopback()
}

// checkPeer refuses a connection to Host "localhost" that did not land on
// a loopback address (a resolver can be told anything), since the
// Mailer would otherwise go without TLS on a network.
func (m *Mailer) checkPeer(c net.Conn) error {
	if !m.loopback || m.testDial != "" {
		return nil
	}
	if _, err := netip.ParseAddr(strings.Trim(m.host, "[]")); err == nil {
		return nil // an address literal: the dial went there
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("%s resolved to %s, which is not a loopback address; refusing to treat it as a local relay",
			m.host, c.RemoteAddr())
	}
	return nil
}

// dialAddr is the address to dial: the server's, unless a test redirected
// it.
func (m *Mailer) dialAddr() string {
	if m.testDial != "" {
		return m.testDial
	}
	return m.addr
}

// heloName is the name sent with EHLO: Config.HeloName, else the host
// name, as go-mail does for Send.
func (m *Mailer) heloName() string {
	if m.helo != "" {
		return m.helo
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
