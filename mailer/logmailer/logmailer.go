// Package logmailer is a users.Mailer that writes each mail, link
// included, to an io.Writer instead of sending it — for quick starts and
// development, where no mail server is at hand. The printed mail contains a
// live token: never use it in production.
package logmailer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/gousers/users"
)

// Mailer prints mail. It is safe for concurrent use: whole mails are
// written one at a time.
type Mailer struct {
	mu       sync.Mutex
	w        io.Writer
	withHTML bool
}

// Option configures a Mailer.
type Option func(*Mailer)

// WithHTML also prints the HTML part. Default: only the plain-text part.
func WithHTML() Option { return func(m *Mailer) { m.withHTML = true } }

// New returns a Mailer writing to w.
func New(w io.Writer, opts ...Option) *Mailer {
	m := &Mailer{w: w}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Send writes the mail to the writer.
func (m *Mailer) Send(ctx context.Context, msg users.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "----- mail -----\nTo: %s\nSubject: %s\n\n%s", msg.To, msg.Subject, msg.Text)
	if !strings.HasSuffix(msg.Text, "\n") {
		b.WriteByte('\n')
	}
	if m.withHTML {
		fmt.Fprintf(&b, "--- html ---\n%s", msg.HTML)
		if !strings.HasSuffix(msg.HTML, "\n") {
			b.WriteByte('\n')
		}
	}
	b.WriteString("----------------\n")
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := io.WriteString(m.w, b.String()); err != nil {
		return fmt.Errorf("logmailer: %w", err)
	}
	return nil
}
