package users

import "context"

// Mailer transports one rendered mail. The Manager renders every mail
// itself and hands it to the Mailer through the outbox delivery worker
// (see Manager.Run and Manager.DeliverPending); a Mailer only transports.
//
// Send returns nil once the mail is accepted for delivery. An error makes
// the worker retry later with backoff; wrap ErrPermanent to say that
// retrying cannot help (the address was refused), so the mail is marked
// failed at once. Send must honour ctx's deadline. The error text is
// recorded with the mail, so it must not contain the message body.
//
// A Mailer that can check its relay without sending mail has a method
// Verify(ctx context.Context) error (smtpmailer.Mailer does: it connects,
// says EHLO, sets up TLS and AUTH, and quits). Manager.Health probes such
// a Mailer; a failure is a warning, not an error, because mail waits in
// the outbox until the relay is back.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Message is one mail, ready to send.
type Message struct {
	// MessageID is the mail's Message-ID without the angle brackets
	// ("<id>@<host>" is sent as "<<id>@<host>>"): the same on every
	// attempt to deliver the same outbox mail, so that a receiver can drop
	// a copy (delivery is at least once: a crash between the send and the
	// record of it sends the mail again). Empty: the Mailer makes one up.
	MessageID string
	To        string
	Subject   string
	Text      string // the plain-text part
	HTML      string // the HTML part
}
