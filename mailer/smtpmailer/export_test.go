package smtpmailer

// RedirectDial makes m dial addr while it still believes it talks to its
// configured Host: tests of non-loopback hosts run against a server on
// 127.0.0.1.
func RedirectDial(m *Mailer, addr string) { m.testDial = addr }
