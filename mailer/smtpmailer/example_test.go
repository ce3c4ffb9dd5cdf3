package smtpmailer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/smtpmailer"
	"github.com/gousers/users/mailer/smtpmailer/smtptest"
	"github.com/gousers/users/store/memstore"
)

// A Manager whose mail goes out through a provider's submission port:
// port 587, STARTTLS required, the password from the environment.
func Example() {
	mailer, err := smtpmailer.New(smtpmailer.Config{
		Host:     "smtp.example.com",
		Username: "apikey",
		Password: os.Getenv("SMTP_PASSWORD"),
		From:     "Example <no-reply@example.com>",
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := users.New(memstore.New(), mailer)
	if err != nil {
		log.Fatal(err)
	}
	// The outbox worker delivers, retrying with backoff, until its context
	// ends: start it with the app, stop it on shutdown.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	// … serve requests …
	stop()
	fmt.Println("worker stopped:", <-done)
	// Output:
	// worker stopped: <nil>
}

func ExampleMailer_Send() {
	// A real SMTP server in this process, offering STARTTLS with a
	// self-signed certificate.
	srv, err := smtptest.NewServer(smtptest.Options{TLS: smtptest.STARTTLS})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	mailer, err := smtpmailer.New(smtpmailer.Config{
		Host:      srv.Host(),
		Port:      srv.Port(),
		TLSConfig: srv.ClientTLSConfig(), // trusts the test certificate
		From:      "Example <no-reply@example.com>",
	})
	if err != nil {
		log.Fatal(err)
	}
	err = mailer.Send(context.Background(), users.Message{
		To:      "ada@example.org",
		Subject: "Verify your email address",
		Text:    "Open https://app.example.com/verify?token=…",
		HTML:    `<a href="https://app.example.com/verify?token=…">Verify</a>`,
	})
	fmt.Println("sent:", err == nil)

	got := srv.Messages()[0]
	fmt.Println(got.To, got.Subject, got.TLS)
	fmt.Println(got.MediaType)
	for _, p := range got.Parts {
		fmt.Println(" ", p.MediaType, p.Charset)
	}

	// A 550 from the server is permanent: the outbox will not retry.
	srv.Refuse(smtptest.Rcpt, 550, 1)
	err = mailer.Send(context.Background(), users.Message{To: "gone@example.org", Text: "…"})
	fmt.Println("permanent:", errors.Is(err, users.ErrPermanent))
	// Output:
	// sent: true
	// [ada@example.org] Verify your email address true
	// multipart/alternative
	//   text/plain utf-8
	//   text/html utf-8
	// permanent: true
}
