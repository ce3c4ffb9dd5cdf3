package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/mailer/smtpmailer"
)

// newMailer returns the mailer EMAIL_TRANSPORT selects: SMTP through
// EMAIL_SMTP_HOST, or one that prints each mail to out.
func newMailer(cfg *config, out io.Writer) (users.Mailer, error) {
	if cfg.EmailTransport != "smtp" {
		return logmailer.New(out), nil
	}
	m, err := cfg.newSMTPMailer()
	if err != nil {
		return nil, errors.New("EMAIL_SMTP_*: " + unprefix(err).Error())
	}
	return m, nil
}

// warnMail says, at start-up, what about the mail set-up an operator
// should know: mail that is only printed, clear text across a network,
// and EMAIL_SMTP_IGNORE_TLS overridden by EMAIL_SMTP_SECURE.
func warnMail(cfg config, log *slog.Logger) {
	if cfg.EmailTransport != "smtp" {
		log.Info("mail is printed to stdout, not sent (set EMAIL_SMTP_HOST to send it)")
		return
	}
	if cfg.SMTPSecure && cfg.SMTPIgnoreTLS {
		log.Warn("EMAIL_SMTP_IGNORE_TLS has no effect with EMAIL_SMTP_SECURE=true (implicit TLS), as in Directus")
	}
	if cfg.smtpMode() == smtpmailer.Plain && !smtpmailer.IsLoopback(cfg.SMTPHost) {
		log.Warn("mail goes in the clear across the network (EMAIL_SMTP_IGNORE_TLS=true to a relay on another host); anyone on the path can read its links",
			"EMAIL_SMTP_HOST", cfg.SMTPHost)
	}
}

// verifyMailSetup checks the SMTP relay once, at start-up, when
// EMAIL_VERIFY_SETUP is true (Directus's check). A failure is one ERROR
// line saying what failed and which variables to change; the server
// serves on, and mail waits in the outbox until the relay is fixed.
func verifyMailSetup(ctx context.Context, cfg config, mailer users.Mailer, log *slog.Logger) {
	v, ok := mailer.(*smtpmailer.Mailer)
	if !ok || !cfg.EmailVerifySetup {
		return
	}
	err := v.Verify(ctx)
	if err == nil {
		log.Info("mail relay checked: it accepts a session", "relay", cfg.addrSMTP(), "tls", cfg.smtpMode().String())
		return
	}
	if ctx.Err() != nil {
		return // shutting down
	}
	what, change := setupAdvice(cfg, err)
	log.Error("mail relay check failed: "+what+"; mail waits in the outbox until it is fixed",
		"change", change, "error", err.Error())
}

// setupAdvice explains a failed relay check: what failed, and which
// variables to change.
func setupAdvice(cfg config, err error) (what, change string) {
	var se *smtpmailer.SetupError
	if !errors.As(err, &se) {
		return "the relay check failed", "EMAIL_SMTP_HOST, EMAIL_SMTP_PORT"
	}
	text := err.Error()
	switch se.Step {
	case smtpmailer.StepConnect:
		return "cannot connect to " + cfg.addrSMTP(), "EMAIL_SMTP_HOST, EMAIL_SMTP_PORT"
	case smtpmailer.StepGreeting:
		if cfg.SMTPSecure {
			return "no SMTP greeting from " + cfg.addrSMTP() + " over TLS", "EMAIL_SMTP_PORT, EMAIL_SMTP_SECURE"
		}
		return "no SMTP greeting from " + cfg.addrSMTP() + " (a port that expects TLS from the first byte, such as 465, needs EMAIL_SMTP_SECURE=true)",
			"EMAIL_SMTP_PORT, EMAIL_SMTP_SECURE"
	case smtpmailer.StepTLS:
		switch {
		case strings.Contains(text, "does not offer STARTTLS"):
			return "the relay offers no STARTTLS, and TLS is required for a relay on another host",
				"EMAIL_SMTP_SECURE (true if it speaks TLS from the first byte), EMAIL_SMTP_IGNORE_TLS (true to send in the clear, without EMAIL_SMTP_USER), EMAIL_SMTP_HOST"
		case strings.Contains(text, "certificate") && smtpmailer.IsLoopback(cfg.SMTPHost) && !cfg.SMTPSecure:
			// A local relay (Debian's Postfix offers STARTTLS with a
			// snake-oil certificate) needs no TLS: nothing on a network
			// sees the connection.
			return "the relay's TLS certificate is not valid for " + cfg.SMTPHost,
				"EMAIL_SMTP_IGNORE_TLS=true (a relay on this machine may go without TLS, AUTH included), or EMAIL_SMTP_HOST (the name on its certificate)"
		case strings.Contains(text, "certificate"):
			return "the relay's TLS certificate is not valid for " + cfg.SMTPHost, "EMAIL_SMTP_HOST (the name on its certificate)"
		case cfg.SMTPSecure:
			return "no TLS handshake with " + cfg.addrSMTP(), "EMAIL_SMTP_SECURE (false for a STARTTLS port such as 587), EMAIL_SMTP_PORT"
		}
		return "the TLS set-up failed", "EMAIL_SMTP_SECURE, EMAIL_SMTP_IGNORE_TLS, EMAIL_SMTP_PORT"
	case smtpmailer.StepAuth:
		return "the relay refused the credentials", "EMAIL_SMTP_USER, EMAIL_SMTP_PASSWORD"
	}
	return "the relay check failed", "EMAIL_SMTP_HOST, EMAIL_SMTP_PORT"
}

// addrSMTP is the relay's host:port, as errors name it.
func (c config) addrSMTP() string {
	return net.JoinHostPort(strings.Trim(c.SMTPHost, "[]"), strconv.Itoa(c.SMTPPort))
}
