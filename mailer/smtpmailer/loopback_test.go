package smtpmailer_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/mailer/smtpmailer"
	"github.com/gousers/users/mailer/smtpmailer/smtptest"
)

// A relay on the local machine that offers no STARTTLS (Mailpit, MailHog,
// a local Postfix) gets mail in the default mode, as it does from
// Directus; with credentials too, since they never leave the machine.
func TestLoopbackRelayWithoutSTARTTLS(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		for _, withAuth := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/auth=%v", host, withAuth), func(t *testing.T) {
				t.Parallel()
				opts := smtptest.Options{TLS: smtptest.Plain}
				if withAuth {
					opts.Username, opts.Password, opts.AuthMechanisms = user, password, []string{"LOGIN"}
				}
				srv := smtptest.Start(t, opts)
				cfg := config(srv, smtpmailer.STARTTLS)
				cfg.Host = host
				if withAuth {
					cfg.Username, cfg.Password = user, password
				}
				require.NoError(t, newMailer(t, cfg).Send(context.Background(), message("a@example.org")))
				msgs := srv.Messages()
				require.Len(t, msgs, 1)
				assert.False(t, msgs[0].TLS)
				if withAuth {
					assert.Equal(t, user, msgs[0].AuthUser)
				}
			})
		}
	}
}

// A loopback relay that offers STARTTLS gets it, and its certificate is
// checked: the exemption is for relays without TLS, not for bad TLS.
func TestLoopbackRelayOfferingSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
	require.NoError(t, newMailer(t, config(srv, smtpmailer.STARTTLS)).Send(context.Background(), message("a@example.org")))
	require.Len(t, srv.Messages(), 1)
	assert.True(t, srv.Messages()[0].TLS)

	cfg := config(srv, smtpmailer.STARTTLS)
	cfg.TLSConfig = nil // the system roots do not trust the test certificate
	err := newMailer(t, cfg).Send(context.Background(), message("a@example.org"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
	assert.Len(t, srv.Messages(), 1, "no mail after a failed upgrade")
}

// Every mode against a relay on another host: TLS or nothing, and never
// the password in the clear.
func TestRemoteRelayModes(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		server  smtptest.TLSMode
		mode    smtpmailer.TLSMode
		wantTLS bool
		wantErr string // "" when the mail must arrive
	}{
		"STARTTLSOffered":          {smtptest.STARTTLS, smtpmailer.STARTTLS, true, ""},
		"STARTTLSNotOffered":       {smtptest.Plain, smtpmailer.STARTTLS, false, "STARTTLS"},
		"ImplicitTLS":              {smtptest.ImplicitTLS, smtpmailer.ImplicitTLS, true, ""},
		"ImplicitTLSAgainstPlain":  {smtptest.Plain, smtpmailer.ImplicitTLS, false, "tls"},
		"PlainWithoutCredentials":  {smtptest.Plain, smtpmailer.Plain, false, ""},
		"PlainIgnoresOfferedTLS":   {smtptest.STARTTLS, smtpmailer.Plain, false, ""},
		"OpportunisticWithOffer":   {smtptest.STARTTLS, smtpmailer.Opportunistic, true, ""},
		"OpportunisticNoOfferNoPW": {smtptest.Plain, smtpmailer.Opportunistic, false, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{TLS: tc.server})
			cfg := remoteConfig(srv, tc.mode)
			if cfg.TLSConfig == nil && tc.mode == smtpmailer.ImplicitTLS {
				cfg.Timeout = 2 * time.Second // a plain server never answers a ClientHello
			}
			err := newRemoteMailer(t, srv, cfg).Send(context.Background(), message("a@example.org"))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(tc.wantErr))
				assert.Empty(t, srv.Messages())
				return
			}
			require.NoError(t, err)
			require.Len(t, srv.Messages(), 1)
			assert.Equal(t, tc.wantTLS, srv.Messages()[0].TLS)
		})
	}
}

// Credentials never cross a network in the clear: Plain mode with a
// Username is refused for any host but a loopback one.
func TestPlainCredentialsOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for host, ok := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true, "localhost": true, "LocalHost.": true,
		"::ffff:127.0.0.1": true,
		"10.0.0.1":         false, "192.168.1.1": false, "smtp.example.com": false, "localhost.example.com": false,
		"0.0.0.0": false, "::": false,
	} {
		_, err := smtpmailer.New(smtpmailer.Config{Host: host, From: "a@example.com", TLS: smtpmailer.Plain,
			Username: user, Password: password})
		if ok {
			assert.NoError(t, err, host)
			continue
		}
		require.Error(t, err, host)
		assert.Contains(t, err.Error(), "in the clear", host)
		assert.NotContains(t, err.Error(), password)
		assert.Equal(t, ok, smtpmailer.IsLoopback(host), host)
	}
	for _, host := range []string{"10.0.0.1", "smtp.example.com"} {
		_, err := smtpmailer.New(smtpmailer.Config{Host: host, From: "a@example.com", TLS: smtpmailer.Plain})
		assert.NoError(t, err, "no credentials, nothing to leak: %s", host)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		server smtptest.TLSMode
		mode   smtpmailer.TLSMode
		remote bool
	}{
		"STARTTLS":                {smtptest.STARTTLS, smtpmailer.STARTTLS, false},
		"STARTTLSRemote":          {smtptest.STARTTLS, smtpmailer.STARTTLS, true},
		"LoopbackWithoutSTARTTLS": {smtptest.Plain, smtpmailer.STARTTLS, false},
		"ImplicitTLS":             {smtptest.ImplicitTLS, smtpmailer.ImplicitTLS, true},
		"Plain":                   {smtptest.Plain, smtpmailer.Plain, false},
		"Opportunistic":           {smtptest.STARTTLS, smtpmailer.Opportunistic, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{TLS: tc.server, Username: user, Password: password})
			cfg := config(srv, tc.mode)
			if tc.remote {
				cfg = remoteConfig(srv, tc.mode)
			}
			cfg.Username, cfg.Password = user, password
			m := newMailer(t, cfg)
			if tc.remote {
				m = newRemoteMailer(t, srv, cfg)
			}
			require.NoError(t, m.Verify(context.Background()))
			assert.Empty(t, srv.Messages(), "Verify sends no mail")
		})
	}
}

// Each way a set-up fails is named by its step, which tells an operator
// which setting to change.
func TestVerifyNamesTheFailingStep(t *testing.T) {
	t.Parallel()
	closed := smtptest.Start(t, smtptest.Options{})
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { silent.Close() })
	go func() { // accepts, then hangs up without a greeting
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	for name, tc := range map[string]struct {
		setup func(t *testing.T) *smtpmailer.Mailer
		step  smtpmailer.Step
		text  string
	}{
		"NothingListening": {func(t *testing.T) *smtpmailer.Mailer {
			return newMailer(t, config(closed, smtpmailer.STARTTLS))
		}, smtpmailer.StepConnect, "refused"},
		"NotSMTP": {func(t *testing.T) *smtpmailer.Mailer {
			return newMailer(t, smtpmailer.Config{Host: "127.0.0.1", Port: silent.Addr().(*net.TCPAddr).Port,
				From: "a@example.com", Timeout: 2 * time.Second})
		}, smtpmailer.StepGreeting, "EOF"},
		"NoSTARTTLSOnAnotherHost": {func(t *testing.T) *smtpmailer.Mailer {
			srv := smtptest.Start(t, smtptest.Options{})
			return newRemoteMailer(t, srv, remoteConfig(srv, smtpmailer.STARTTLS))
		}, smtpmailer.StepTLS, "does not offer STARTTLS"},
		"UntrustedCertificate": {func(t *testing.T) *smtpmailer.Mailer {
			srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
			cfg := config(srv, smtpmailer.STARTTLS)
			cfg.TLSConfig = nil
			return newMailer(t, cfg)
		}, smtpmailer.StepTLS, "certificate"},
		"ImplicitTLSAgainstSTARTTLSPort": {func(t *testing.T) *smtpmailer.Mailer {
			srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
			cfg := config(srv, smtpmailer.ImplicitTLS)
			cfg.Timeout = 2 * time.Second
			return newMailer(t, cfg)
		}, smtpmailer.StepTLS, ""},
		"WrongPassword": {func(t *testing.T) *smtpmailer.Mailer {
			srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS, Username: user, Password: "other-password"})
			cfg := config(srv, smtpmailer.STARTTLS)
			cfg.Username, cfg.Password = user, password
			return newMailer(t, cfg)
		}, smtpmailer.StepAuth, "535"},
		"NoAUTHOffered": {func(t *testing.T) *smtpmailer.Mailer {
			srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
			cfg := config(srv, smtpmailer.STARTTLS)
			cfg.Username, cfg.Password = user, password
			return newMailer(t, cfg)
		}, smtpmailer.StepAuth, "no AUTH"},
		"PasswordWouldGoInTheClear": {func(t *testing.T) *smtpmailer.Mailer {
			srv := smtptest.Start(t, smtptest.Options{Username: user, Password: password})
			cfg := remoteConfig(srv, smtpmailer.Opportunistic)
			cfg.Username, cfg.Password = user, password
			return newRemoteMailer(t, srv, cfg)
		}, smtpmailer.StepAuth, "in the clear"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.setup(t).Verify(context.Background())
			require.Error(t, err)
			var se *smtpmailer.SetupError
			require.True(t, errors.As(err, &se), "%T %v", err, err)
			assert.Equal(t, tc.step, se.Step, err.Error())
			assert.Contains(t, err.Error(), string(tc.step)+": ")
			assert.Contains(t, err.Error(), tc.text)
			assertClean(t, err)
		})
	}
}

func TestVerifyHonoursContext(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	m := newMailer(t, config(srv, smtpmailer.STARTTLS))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := m.Verify(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
}
