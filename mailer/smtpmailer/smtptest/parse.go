package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// maxDepth bounds multipart nesting.
const maxDepth = 8

// parse reads a message with net/mail and mime/multipart. It never fails:
// a parse error is recorded in Message.Err.
func parse(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.Err = fmt.Errorf("smtptest: header: %w", err)
		return m
	}
	m.Header = msg.Header
	var dec mime.WordDecoder
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.Err = fmt.Errorf("smtptest: Subject: %w", err)
		return m
	}
	m.MediaType, m.Err = walk(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	for _, p := range m.Parts {
		switch {
		case p.MediaType == "text/plain" && m.Text == "":
			m.Text = p.Body
		case p.MediaType == "text/html" && m.HTML == "":
			m.HTML = p.Body
		}
	}
	return m
}

// walk appends the leaf parts of the entity with the given Content-Type,
// Content-Transfer-Encoding and body to m.Parts, and returns its media type.
func walk(m *Message, contentType, cte string, body io.Reader, depth int) (string, error) {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii" // RFC 2045 §5.2
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("smtptest: Content-Type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxDepth {
			return mediaType, errors.New("smtptest: multipart nested too deep")
		}
		if params["boundary"] == "" {
			return mediaType, fmt.Errorf("smtptest: %s without boundary", mediaType)
		}
		r := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: keep Content-Transfer-Encoding, to record it.
			p, err := r.NextRawPart()
			if err == io.EOF {
				return mediaType, nil
			}
			if err != nil {
				return mediaType, fmt.Errorf("smtptest: %s: %w", mediaType, err)
			}
			if _, err := walk(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); err != nil {
				return mediaType, err
			}
		}
	}
	cte = strings.ToLower(strings.TrimSpace(cte))
	var r io.Reader
	switch cte {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks
	case "", "7bit", "8bit", "binary":
		r = body
	default:
		return mediaType, fmt.Errorf("smtptest: unknown Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return mediaType, fmt.Errorf("smtptest: %s body (%s): %w", mediaType, cte, err)
	}
	text := string(b)
	if strings.HasPrefix(mediaType, "text/") {
		text = strings.ReplaceAll(text, "\r\n", "\n")
	}
	m.Parts = append(m.Parts, Part{
		MediaType:        mediaType,
		Charset:          strings.ToLower(params["charset"]),
		TransferEncoding: cte,
		Body:             text,
	})
	return mediaType, nil
}
