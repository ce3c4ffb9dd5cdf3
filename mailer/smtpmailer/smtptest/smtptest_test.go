package smtptest

import (
	"context"
	"net/smtp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()
	crlf := func(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

	t.Run("NestedMultipartBase64AndQP", func(t *testing.T) {
		t.Parallel()
		m := parse(crlf(`From: a@example.com
To: b@example.org
Subject: =?UTF-8?q?Caf=C3=A9?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

Q2Fmw6kgbGluZSAx
CmxpbmUgMg==
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Caf=C3=A9 a very long line that was soft-=
broken</p>
--inner--
--outer
Content-Type: application/octet-stream

x
y
--outer--
`))
		require.NoError(t, m.Err)
		assert.Equal(t, "Café", m.Subject)
		assert.Equal(t, "=?UTF-8?q?Caf=C3=A9?=", m.Header["Subject"][0], "Header keeps the wire form")
		assert.Equal(t, "multipart/mixed", m.MediaType)
		require.Len(t, m.Parts, 3)
		assert.Equal(t, Part{MediaType: "text/plain", Charset: "utf-8", TransferEncoding: "base64", Body: "Café line 1\nline 2"}, m.Parts[0])
		assert.Equal(t, "quoted-printable", m.Parts[1].TransferEncoding)
		assert.Equal(t, "Café line 1\nline 2", m.Text)
		assert.Equal(t, "<p>Café a very long line that was soft-broken</p>", m.HTML)
		assert.Equal(t, "application/octet-stream", m.Parts[2].MediaType)
		assert.Equal(t, "x\r\ny", m.Parts[2].Body, "line ends are normalised in text/* only")
	})

	t.Run("DefaultContentType", func(t *testing.T) {
		t.Parallel()
		m := parse(crlf("Subject: plain\n\nhello\n"))
		require.NoError(t, m.Err)
		assert.Equal(t, "text/plain", m.MediaType)
		assert.Equal(t, []Part{{MediaType: "text/plain", Charset: "us-ascii", Body: "hello\n"}}, m.Parts)
	})

	for name, tc := range map[string]struct{ raw, want string }{
		"BadHeader":        {"no colon here\n\nbody\n", "smtptest: header: malformed header line"},
		"BadContentType":   {"Content-Type: text/\n\nbody\n", `smtptest: Content-Type "text/"`},
		"NoBoundary":       {"Content-Type: multipart/alternative\n\nbody\n", "smtptest: multipart/alternative without boundary"},
		"UnknownEncoding":  {"Content-Transfer-Encoding: rot13\n\nbody\n", `smtptest: unknown Content-Transfer-Encoding "rot13"`},
		"BadBase64":        {"Content-Transfer-Encoding: base64\n\n!!!!\n", "smtptest: text/plain body (base64): illegal base64 data"},
		"UnterminatedPart": {"Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n", "smtptest: text/plain body (): unexpected EOF"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.ErrorContains(t, parse(crlf(tc.raw)).Err, tc.want)
		})
	}
}

// send sends a one-line message with the standard library's client.
func send(srv *Server, auth smtp.Auth, to string) error {
	return smtp.SendMail(srv.Addr(), auth, "a@example.com", []string{to},
		[]byte("Subject: hi\r\n\r\nbody\r\n"))
}

func TestRefuseAndAccept(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{})

	srv.Refuse(Rcpt, 451, 2)
	for range 2 {
		err := send(srv, nil, "b@example.org")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "451")
	}
	require.NoError(t, send(srv, nil, "b@example.org"), "two refusals, then accepted")

	srv.Refuse(Data, 554, 0)
	for range 3 {
		err := send(srv, nil, "c@example.org")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "554")
	}
	srv.Accept()
	require.NoError(t, send(srv, nil, "d@example.org"))

	msgs := srv.Messages()
	require.Len(t, msgs, 2, "refused messages are not recorded")
	assert.Equal(t, "a@example.com", msgs[0].From)
	assert.Equal(t, []string{"b@example.org"}, msgs[0].To)
	assert.Equal(t, []string{"d@example.org"}, msgs[1].To)
	assert.Equal(t, "hi", msgs[1].Subject)
	assert.Equal(t, "body\n", msgs[1].Text)
	assert.False(t, msgs[1].TLS)
	assert.Empty(t, msgs[1].AuthUser)

	assert.Panics(t, func() { srv.Refuse(Mail, 250, 1) }, "only 4xx and 5xx refuse")
}

func TestAuth(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{"PLAIN", "CRAM-MD5"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, Options{Username: "u", Password: "p", AuthMechanisms: []string{mech}})
			auth := func(pass string) smtp.Auth {
				if mech == "PLAIN" {
					return smtp.PlainAuth("", "u", pass, srv.Host()) // allowed in the clear to 127.0.0.1
				}
				return smtp.CRAMMD5Auth("u", pass)
			}

			err := send(srv, nil, "b@example.org")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "530", "AUTH required")
			err = send(srv, auth("wrong"), "b@example.org")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "535")
			require.NoError(t, send(srv, auth("p"), "b@example.org"))

			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			assert.Equal(t, "u", msgs[0].AuthUser)
		})
	}
}

func TestOptionsValidated(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		o    Options
		want string
	}{
		"PasswordWithoutUser": {Options{Password: "p"}, "smtptest: Password without Username"},
		"UnknownMechanism":    {Options{Username: "u", AuthMechanisms: []string{"XOAUTH2"}}, `smtptest: unsupported AUTH mechanism "XOAUTH2"`},
		"UnknownTLSMode":      {Options{TLS: ImplicitTLS + 1}, "smtptest: unknown TLSMode 3"},
	} {
		srv, err := NewServer(tc.o)
		assert.Nil(t, srv, name)
		assert.EqualError(t, err, tc.want, name)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{TLS: ImplicitTLS})
	assert.NotNil(t, srv.ClientTLSConfig())
	srv.Stall(Mail) // a stalled session must not keep Close waiting
	srv.Close()
	srv.Close() // idempotent
	err := send(srv, nil, "b@example.org")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "closed: the port no longer listens")
	assert.Nil(t, Start(t, Options{}).ClientTLSConfig(), "no TLS, no config")
}

func TestWait(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{})
	errs := make(chan error, 2)
	go func() {
		for range 2 {
			errs <- send(srv, nil, "b@example.org")
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := srv.Wait(ctx, 2)
	require.NoError(t, err)
	assert.Len(t, msgs, 2)
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	msgs, err = srv.Wait(ctx, 3)
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, msgs, 2, "what arrived so far")
}

// Every MAIL FROM and RCPT TO is recorded, refused and stalled ones too,
// and WaitAttempts returns once the condition holds.
func TestAttempts(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Username: "u", Password: "p"})
	auth := smtp.PlainAuth("", "u", "p", srv.Host())
	require.Error(t, send(srv, nil, "nobody@example.org"), "530: no AUTH")
	assert.Empty(t, srv.Attempts(), "a command refused for want of AUTH is not an attempt")

	srv.Refuse(Rcpt, 451, 1)
	require.ErrorContains(t, send(srv, auth, "b@example.org"), "451")
	require.NoError(t, send(srv, auth, "c@example.org"))
	assert.Equal(t, []Attempt{
		{Mail, "a@example.com"}, {Rcpt, "b@example.org"},
		{Mail, "a@example.com"}, {Rcpt, "c@example.org"},
	}, srv.Attempts())

	srv.Stall(Mail)
	sent := make(chan error, 1)
	go func() { sent <- send(srv, auth, "d@example.org") }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	as, err := srv.WaitAttempts(ctx, func(as []Attempt) bool { return len(as) == 5 })
	require.NoError(t, err, "the stalled MAIL FROM is recorded")
	assert.Equal(t, Attempt{Mail, "a@example.com"}, as[4])
	assert.Len(t, srv.Messages(), 1, "stalled: not delivered")
	srv.Accept()
	select {
	case err := <-sent:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("the stalled send did not finish after Accept")
	}
	assert.Equal(t, Attempt{Rcpt, "d@example.org"}, srv.Attempts()[5])

	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	as, err = srv.WaitAttempts(short, func(as []Attempt) bool { return len(as) > 6 })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Len(t, as, 6)
}
