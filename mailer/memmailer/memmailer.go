// Package memmailer is a users.Mailer that records messages in memory, for
// tests. It can be told to fail, to exercise the outbox's retries.
package memmailer

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"sync"

	"github.com/gousers/users"
)

// Mailer records every message it is given. It is safe for concurrent use.
// The zero value is ready to use.
type Mailer struct {
	mu   sync.Mutex
	sent []users.Message
	fail error
}

// New returns an empty Mailer.
func New() *Mailer { return &Mailer{} }

// ErrRefused is a ready-made error for FailWith.
var ErrRefused = errors.New("memmailer: delivery refused")

// Send records m, or returns the failure set with FailWith.
func (x *Mailer) Send(ctx context.Context, m users.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.fail != nil {
		return x.fail
	}
	x.sent = append(x.sent, m)
	return nil
}

// FailWith makes every following Send return err (nil: deliver again).
func (x *Mailer) FailWith(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.fail = err
}

// Messages returns a copy of the messages sent so far, oldest first.
func (x *Mailer) Messages() []users.Message {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.sent)
}

// To returns the messages sent to the address, oldest first.
func (x *Mailer) To(addr string) []users.Message {
	var out []users.Message
	for _, m := range x.Messages() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// Reset forgets every message.
func (x *Mailer) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sent = nil
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+|[a-z][a-z0-9+.-]*://[^\s"<>]+`)

// Token extracts the token=<token> query parameter of the first link in
// the message's text part ("" if none).
func Token(m users.Message) string {
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		u, err := url.Parse(l)
		if err != nil {
			continue
		}
		if t := u.Query().Get("token"); t != "" {
			return t
		}
	}
	return ""
}

// Link returns the first link in the message's text part ("" if none).
func Link(m users.Message) string {
	return linkRE.FindString(m.Text)
}
