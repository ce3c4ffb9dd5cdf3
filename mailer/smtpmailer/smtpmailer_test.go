package smtpmailer_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/smtpmailer"
	"github.com/gousers/users/mailer/smtpmailer/smtptest"
)

const (
	user     = "mailer@example.com"
	password = "s3cret-Passw0rd!"
	token    = "TOKEN-d41d8cd98f00b204"
)

// message is a mail with a live token in both parts, non-ASCII text and a
// line longer than a mail line may be, so the encoding has work to do.
func message(to string) users.Message {
	link := "https://app.example.com/users/register/verify-email?token=" + token
	return users.Message{
		To:      to,
		Subject: "Vérifiez votre adresse — Zoë",
		Text:    "Bonjour Zoë,\n\nOpen this link: " + link + "&" + strings.Repeat("x", 100) + "\n",
		HTML:    `<p>Bonjour Zoë,</p><p><a href="` + link + `">Vérifier</a></p>`,
	}
}

// config is a Mailer configuration for srv in the given mode, trusting its
// certificate.
func config(srv *smtptest.Server, mode smtpmailer.TLSMode) smtpmailer.Config {
	return smtpmailer.Config{
		Host:      srv.Host(),
		Port:      srv.Port(),
		From:      "Example App <no-reply@example.com>",
		TLS:       mode,
		TLSConfig: srv.ClientTLSConfig(),
		Timeout:   10 * time.Second,
		HeloName:  "client.example.com",
	}
}

func newMailer(t *testing.T, cfg smtpmailer.Config) *smtpmailer.Mailer {
	t.Helper()
	m, err := smtpmailer.New(cfg)
	require.NoError(t, err)
	return m
}

// remoteHost is a host name that is not the local machine's: a Mailer
// configured with it applies the rules for relays on other hosts, while
// newRemoteMailer makes it dial the test server on 127.0.0.1.
const remoteHost = "relay.example.test"

// remoteConfig is config with Host remoteHost; the server's certificate
// (valid for localhost) is checked against the name localhost.
func remoteConfig(srv *smtptest.Server, mode smtpmailer.TLSMode) smtpmailer.Config {
	cfg := config(srv, mode)
	cfg.Host = remoteHost
	if cfg.TLSConfig != nil {
		cfg.TLSConfig.ServerName = "localhost"
	}
	return cfg
}

// newRemoteMailer builds a Mailer from cfg (whose Host is remoteHost) that
// dials srv.
func newRemoteMailer(t *testing.T, srv *smtptest.Server, cfg smtpmailer.Config) *smtpmailer.Mailer {
	t.Helper()
	require.Equal(t, remoteHost, cfg.Host)
	m := newMailer(t, cfg)
	smtpmailer.RedirectDial(m, srv.Addr())
	return m
}

// assertClean checks that a Send error's text leaks no secret.
func assertClean(t *testing.T, err error) {
	t.Helper()
	text := err.Error()
	assert.True(t, strings.HasPrefix(text, "smtpmailer: "), text)
	for _, secret := range []string{
		password,
		base64.StdEncoding.EncodeToString([]byte(password)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password)),
		token,
		"Bonjour",
	} {
		assert.NotContains(t, text, secret)
	}
}

func TestSendMultipartAlternative(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS, Username: user, Password: password})
	cfg := config(srv, smtpmailer.STARTTLS)
	cfg.Username, cfg.Password = user, password
	m := newMailer(t, cfg)
	want := message("Zoë Doe <zoe@example.org>")
	before := time.Now().Add(-time.Second).Truncate(time.Second)

	require.NoError(t, m.Send(context.Background(), want))

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	got := msgs[0]
	require.NoError(t, got.Err)
	assert.True(t, got.TLS, "sent after STARTTLS")
	assert.Equal(t, user, got.AuthUser)
	assert.Equal(t, "no-reply@example.com", got.From, "envelope sender")
	assert.Equal(t, []string{"zoe@example.org"}, got.To, "envelope recipient")

	h := got.Header
	from, err := h.AddressList("From")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Name: "Example App", Address: "no-reply@example.com"}}, from)
	to, err := h.AddressList("To")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Name: "Zoë Doe", Address: "zoe@example.org"}}, to)
	assert.Equal(t, want.Subject, got.Subject)
	date, err := h.Date()
	require.NoError(t, err)
	assert.False(t, date.Before(before), "Date %v is now", date)
	assert.False(t, date.After(time.Now().Add(time.Second)), "Date %v is now", date)
	assert.Regexp(t, `^<[a-z0-9]+@example\.com>$`, h.Get("Message-ID"))
	assert.Equal(t, "1.0", h.Get("MIME-Version"))
	assert.Empty(t, h.Get("User-Agent"), "no library advertisement")
	assert.Empty(t, h.Get("Bcc"))

	assert.Equal(t, "multipart/alternative", got.MediaType)
	require.Len(t, got.Parts, 2)
	assert.Equal(t, "text/plain", got.Parts[0].MediaType, "plain text first")
	assert.Equal(t, "text/html", got.Parts[1].MediaType, "HTML last: the preferred part")
	for _, p := range got.Parts {
		assert.Equal(t, "utf-8", p.Charset)
		assert.Contains(t, []string{"quoted-printable", "base64"}, p.TransferEncoding)
	}
	assert.Equal(t, want.Text, got.Text)
	assert.Equal(t, want.HTML, got.HTML)
	for _, line := range strings.Split(string(got.Raw), "\r\n") {
		assert.LessOrEqual(t, len(line), 998, "RFC 5322 line limit")
	}
}

func TestSendSinglePart(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	m := newMailer(t, config(srv, smtpmailer.Plain))
	require.NoError(t, m.Send(context.Background(), users.Message{To: "a@example.org", Subject: "s", Text: "only text"}))
	require.NoError(t, m.Send(context.Background(), users.Message{To: "b@example.org", Subject: "s", HTML: "<p>only html</p>"}))
	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, "text/plain", msgs[0].MediaType)
	// A message ends with a line break; in a single-part one, it ends the
	// body.
	assert.Equal(t, "only text\n", msgs[0].Text)
	assert.Equal(t, "text/html", msgs[1].MediaType)
	assert.Equal(t, "<p>only html</p>\n", msgs[1].HTML)
}

// A subject or name with a line break must not add a header or a
// recipient.
func TestNoHeaderInjection(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	m := newMailer(t, config(srv, smtpmailer.Plain))
	msg := message("a@example.org")
	msg.Subject = "Hi\r\nBcc: evil@example.net\r\nX-Injected: yes"
	require.NoError(t, m.Send(context.Background(), msg))
	got := srv.Messages()[0]
	require.NoError(t, got.Err)
	assert.Equal(t, []string{"a@example.org"}, got.To)
	assert.Empty(t, got.Header.Get("X-Injected"))
	assert.Empty(t, got.Header.Get("Bcc"))
	to, err := got.Header.AddressList("To")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Address: "a@example.org"}}, to)

	err = m.Send(context.Background(), users.Message{To: "a@example.org\r\nRCPT TO:<evil@example.net>", Text: "x"})
	require.Error(t, err)
	assert.ErrorIs(t, err, users.ErrPermanent)
	assert.Len(t, srv.Messages(), 1)
}

func TestTLSModes(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		server  smtptest.TLSMode
		mode    smtpmailer.TLSMode
		wantTLS bool
	}{
		"STARTTLS":                   {smtptest.STARTTLS, smtpmailer.STARTTLS, true},
		"ImplicitTLS":                {smtptest.ImplicitTLS, smtpmailer.ImplicitTLS, true},
		"OpportunisticWhenOffered":   {smtptest.STARTTLS, smtpmailer.Opportunistic, true},
		"OpportunisticWithoutOffer":  {smtptest.Plain, smtpmailer.Opportunistic, false},
		"PlainIgnoresOfferedTLS":     {smtptest.STARTTLS, smtpmailer.Plain, false},
		"PlainAgainstPlainTextRelay": {smtptest.Plain, smtpmailer.Plain, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{TLS: tc.server})
			m := newMailer(t, config(srv, tc.mode))
			require.NoError(t, m.Send(context.Background(), message("a@example.org")))
			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			assert.Equal(t, tc.wantTLS, msgs[0].TLS)
			assert.Equal(t, message("").Text, msgs[0].Text)
		})
	}
}

// STARTTLS mode must not fall back to clear text with a relay on another
// host.
func TestSTARTTLSRequired(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.Plain, Username: user, Password: password})
	cfg := remoteConfig(srv, smtpmailer.STARTTLS)
	cfg.Username, cfg.Password = user, password
	err := newRemoteMailer(t, srv, cfg).Send(context.Background(), message("a@example.org"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "STARTTLS")
	assert.NotErrorIs(t, err, users.ErrPermanent, "fixable by configuration: retry")
	assertClean(t, err)
	assert.Empty(t, srv.Messages())
}

// Without TLSConfig, the server's certificate must chain to a system root;
// the test server's self-signed one does not.
func TestUntrustedCertificate(t *testing.T) {
	t.Parallel()
	for _, mode := range []smtpmailer.TLSMode{smtpmailer.STARTTLS, smtpmailer.ImplicitTLS, smtpmailer.Opportunistic} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			server := smtptest.STARTTLS
			if mode == smtpmailer.ImplicitTLS {
				server = smtptest.ImplicitTLS
			}
			srv := smtptest.Start(t, smtptest.Options{TLS: server})
			cfg := config(srv, mode)
			cfg.TLSConfig = nil
			err := newMailer(t, cfg).Send(context.Background(), message("a@example.org"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "certificate")
			assert.NotErrorIs(t, err, users.ErrPermanent)
			assert.Empty(t, srv.Messages())
		})
	}
}

func TestAuthMechanisms(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		offered []string
		server  smtptest.TLSMode
		mode    smtpmailer.TLSMode
		remote  bool // Host names another machine
	}{
		"PLAIN":                                {[]string{"PLAIN"}, smtptest.STARTTLS, smtpmailer.STARTTLS, false},
		"LOGIN":                                {[]string{"LOGIN"}, smtptest.ImplicitTLS, smtpmailer.ImplicitTLS, false},
		"CRAM-MD5":                             {[]string{"CRAM-MD5"}, smtptest.STARTTLS, smtpmailer.STARTTLS, false},
		"PLAINPreferred":                       {[]string{"CRAM-MD5", "LOGIN", "PLAIN"}, smtptest.STARTTLS, smtpmailer.STARTTLS, false},
		"PLAINOverTLSToAnotherHost":            {[]string{"PLAIN"}, smtptest.STARTTLS, smtpmailer.STARTTLS, true},
		"CRAM-MD5InTheClearToAnotherHost":      {[]string{"PLAIN", "CRAM-MD5"}, smtptest.Plain, smtpmailer.Opportunistic, true},
		"PLAINInTheClearWhenPlainMode":         {[]string{"PLAIN"}, smtptest.Plain, smtpmailer.Plain, false},
		"PLAINInTheClearToALoopbackRelay":      {[]string{"PLAIN"}, smtptest.Plain, smtpmailer.STARTTLS, false},
		"PLAINInTheClearOpportunisticLoopback": {[]string{"PLAIN", "CRAM-MD5"}, smtptest.Plain, smtpmailer.Opportunistic, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{TLS: tc.server, Username: user, Password: password, AuthMechanisms: tc.offered})
			cfg := config(srv, tc.mode)
			if tc.remote {
				cfg = remoteConfig(srv, tc.mode)
			}
			cfg.Username, cfg.Password = user, password
			m := newMailer(t, cfg)
			if tc.remote {
				m = newRemoteMailer(t, srv, cfg)
			}
			require.NoError(t, m.Send(context.Background(), message("a@example.org")))
			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			assert.Equal(t, user, msgs[0].AuthUser)
		})
	}
}

// Opportunistic mode on a connection to another host that stayed in the
// clear must not send the password.
func TestOpportunisticKeepsPasswordOffTheWire(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.Plain, Username: user, Password: password,
		AuthMechanisms: []string{"PLAIN", "LOGIN"}})
	cfg := remoteConfig(srv, smtpmailer.Opportunistic)
	cfg.Username, cfg.Password = user, password
	err := newRemoteMailer(t, srv, cfg).Send(context.Background(), message("a@example.org"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in the clear")
	assert.NotErrorIs(t, err, users.ErrPermanent)
	assertClean(t, err)
	assert.Empty(t, srv.Messages())
}

func TestAuthFailure(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS, Username: user, Password: "another-password",
				AuthMechanisms: []string{mech}})
			cfg := config(srv, smtpmailer.STARTTLS)
			cfg.Username, cfg.Password = user, password
			err := newMailer(t, cfg).Send(context.Background(), message("a@example.org"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "535")
			assert.NotErrorIs(t, err, users.ErrPermanent, "a configuration error: retry, do not lose the mail")
			assertClean(t, err)
			assert.Empty(t, srv.Messages())
		})
	}
}

func TestAuthRequiredButNotOffered(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
	cfg := config(srv, smtpmailer.STARTTLS)
	cfg.Username, cfg.Password = user, password
	err := newMailer(t, cfg).Send(context.Background(), message("a@example.org"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no AUTH")
	assertClean(t, err)
	assert.Empty(t, srv.Messages(), "no unauthenticated mail when a Username is set")
}

// A server that wants AUTH from a Mailer configured without it: fix the
// configuration, and the mail goes out.
func TestAuthRequiredByServerIsRetryable(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS, Username: user, Password: password})
	err := newMailer(t, config(srv, smtpmailer.STARTTLS)).Send(context.Background(), message("a@example.org"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "530")
	assert.NotErrorIs(t, err, users.ErrPermanent)
	assert.Empty(t, srv.Messages())
}

// The error text must not leak the password even when the server echoes it.
func TestPasswordScrubbedFromServerReplies(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		fmt.Fprint(c, "220 echo ESMTP\r\n")
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			line := strings.TrimSpace(string(buf[:n]))
			switch {
			case strings.HasPrefix(line, "EHLO"):
				fmt.Fprint(c, "250-echo\r\n250 AUTH PLAIN\r\n")
			case strings.HasPrefix(line, "AUTH"):
				fmt.Fprintf(c, "535 5.7.8 bad credentials %s (%s)\r\n", line, password)
			default:
				fmt.Fprint(c, "221 bye\r\n")
				return
			}
		}
	}()
	cfg := smtpmailer.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: smtpmailer.Plain,
		From: "a@example.com", Username: user, Password: password, Timeout: 5 * time.Second}
	err = newMailer(t, cfg).Send(context.Background(), message("b@example.org"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "535")
	assert.Contains(t, err.Error(), "[redacted]")
	assertClean(t, err)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, stage := range []smtptest.Stage{smtptest.Mail, smtptest.Rcpt, smtptest.Data} {
		for _, code := range []int{421, 451, 452, 550, 552, 554} {
			t.Run(fmt.Sprintf("%s/%d", stage, code), func(t *testing.T) {
				t.Parallel()
				srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
				srv.Refuse(stage, code, 1)
				m := newMailer(t, config(srv, smtpmailer.STARTTLS))
				err := m.Send(context.Background(), message("a@example.org"))
				require.Error(t, err)
				assert.Contains(t, err.Error(), fmt.Sprint(code))
				assert.Equal(t, code >= 500, errors.Is(err, users.ErrPermanent), "5xx is permanent, 4xx is not: %v", err)
				assertClean(t, err)
				assert.Empty(t, srv.Messages())

				require.NoError(t, m.Send(context.Background(), message("a@example.org")), "the refusal was for one transaction")
				assert.Len(t, srv.Messages(), 1)
			})
		}
	}
}

func TestInvalidRecipientIsPermanent(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	m := newMailer(t, config(srv, smtpmailer.Plain))
	for _, to := range []string{"", "not an address", "a@example.org, b@example.org", "a@"} {
		err := m.Send(context.Background(), message(to))
		require.Error(t, err, "%q", to)
		assert.ErrorIs(t, err, users.ErrPermanent, "%q", to)
		assertClean(t, err)
	}
	assert.Empty(t, srv.Messages())
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	m := newMailer(t, config(srv, smtpmailer.Plain))
	srv.Close()
	err := m.Send(context.Background(), message("a@example.org"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, users.ErrPermanent)
	assert.Contains(t, err.Error(), srv.Addr())
}

// sendWithin5s runs Send and returns its error, failing the test if Send
// is still running after 5s — far more than any deadline used here, so the
// bound is about hanging, not timing.
func sendWithin5s(t *testing.T, ctx context.Context, m *smtpmailer.Mailer) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.Send(ctx, message("a@example.org")) }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Send did not return within 5s")
		return nil
	}
}

func TestContextDeadlineWhileServerStalls(t *testing.T) {
	t.Parallel()
	for _, stage := range []smtptest.Stage{smtptest.Mail, smtptest.Data} {
		t.Run(stage.String(), func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
			srv.Stall(stage)
			m := newMailer(t, config(srv, smtpmailer.STARTTLS)) // Timeout 10s
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := sendWithin5s(t, ctx, m)
			require.Error(t, err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.NotErrorIs(t, err, users.ErrPermanent)
			assertClean(t, err)
		})
	}
}

func TestContextCancelWhileServerStalls(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.ImplicitTLS})
	srv.Stall(smtptest.Rcpt)
	m := newMailer(t, config(srv, smtpmailer.ImplicitTLS))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := sendWithin5s(t, ctx, m)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled, "the outbox treats this as a shutdown, not a failed attempt")
}

func TestTimeoutCapsSend(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Stall(smtptest.Data)
	cfg := config(srv, smtpmailer.Plain)
	cfg.Timeout = 200 * time.Millisecond
	err := sendWithin5s(t, context.Background(), newMailer(t, cfg))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// A server that accepts the connection and never greets.
func TestContextDeadlineWhileGreetingStalls(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	for _, mode := range []smtpmailer.TLSMode{smtpmailer.Plain, smtpmailer.ImplicitTLS} {
		m := newMailer(t, smtpmailer.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: mode, From: "a@example.com"})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := sendWithin5s(t, ctx, m)
		cancel()
		require.Error(t, err, mode)
		assert.NotErrorIs(t, err, users.ErrPermanent, mode)
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := newMailer(t, config(srv, smtpmailer.Plain)).Send(ctx, message("a@example.org"))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, srv.Messages())
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS, Username: user, Password: password})
	cfg := config(srv, smtpmailer.STARTTLS)
	cfg.Username, cfg.Password = user, password
	m := newMailer(t, cfg)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = m.Send(context.Background(), message(fmt.Sprintf("u%d@example.org", i))) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	msgs := srv.Messages()
	require.Len(t, msgs, n)
	seen := map[string]bool{}
	ids := map[string]bool{}
	for _, msg := range msgs {
		require.Len(t, msg.To, 1)
		seen[msg.To[0]] = true
		ids[msg.Header.Get("Message-ID")] = true
		assert.Equal(t, message("").Text, msg.Text)
	}
	assert.Len(t, seen, n, "each mail to its own recipient")
	assert.Len(t, ids, n, "Message-IDs are unique")
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := smtpmailer.Config{Host: "smtp.example.com", From: "a@example.com"}
	_, err := smtpmailer.New(ok)
	require.NoError(t, err)
	for name, mutate := range map[string]func(*smtpmailer.Config){
		"no host":           func(c *smtpmailer.Config) { c.Host = "" },
		"host with port":    func(c *smtpmailer.Config) { c.Host = "smtp.example.com:587" },
		"host is a URL":     func(c *smtpmailer.Config) { c.Host = "smtp://smtp.example.com" },
		"negative port":     func(c *smtpmailer.Config) { c.Port = -1 },
		"port too big":      func(c *smtpmailer.Config) { c.Port = 70000 },
		"no from":           func(c *smtpmailer.Config) { c.From = "" },
		"bad from":          func(c *smtpmailer.Config) { c.From = "Example <no-reply>" },
		"two froms":         func(c *smtpmailer.Config) { c.From = "a@example.com, b@example.com" },
		"password, no user": func(c *smtpmailer.Config) { c.Password = password },
		"negative timeout":  func(c *smtpmailer.Config) { c.Timeout = -time.Second },
		"unknown TLS mode":  func(c *smtpmailer.Config) { c.TLS = smtpmailer.Plain + 1 },
		"HELO with space":   func(c *smtpmailer.Config) { c.HeloName = "a b" },
		"HELO with CRLF":    func(c *smtpmailer.Config) { c.HeloName = "a\r\nMAIL FROM:<x@y>" },
		"password in the clear to another host": func(c *smtpmailer.Config) {
			c.TLS, c.Username, c.Password = smtpmailer.Plain, user, password
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			cfg.Username = "" // so that "password, no user" is alone at fault
			mutate(&cfg)
			_, err := smtpmailer.New(cfg)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "smtpmailer: "), err.Error())
			assert.NotContains(t, err.Error(), password)
		})
	}
	for _, host := range []string{"127.0.0.1", "::1", "[::1]", "localhost"} {
		_, err := smtpmailer.New(smtpmailer.Config{Host: host, From: "a@example.com"})
		assert.NoError(t, err, host)
	}
}

// Port 0 picks the mode's usual port: a Send to a host with nothing
// listening names it.
func TestDefaultPorts(t *testing.T) {
	t.Parallel()
	for mode, port := range map[smtpmailer.TLSMode]string{
		smtpmailer.STARTTLS: "587", smtpmailer.Opportunistic: "587", smtpmailer.ImplicitTLS: "465", smtpmailer.Plain: "25",
	} {
		m, err := smtpmailer.New(smtpmailer.Config{Host: "127.0.0.1", TLS: mode, From: "a@example.com", Timeout: time.Second})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // nothing is dialled; the error still names the address
		err = m.Send(ctx, message("b@example.org"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "127.0.0.1:"+port, mode)
	}
}
