package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/validate"
)

// invalid is an input error naming a field (400 INVALID_PAYLOAD).
func invalid(field, reason string) error {
	return &users.ValidationError{Field: field, Reason: reason}
}

// invalidBody is an input error about the body as a whole.
func invalidBody(reason string) error {
	return &users.ValidationError{Reason: reason}
}

// payload is a JSON object read strictly: valid UTF-8, exactly one object,
// no duplicate keys, nothing after it. Values stay raw until a getter
// checks their type.
type payload struct {
	keys []string // in the order given
	vals map[string]json.RawMessage
}

// decode reads the request body as one JSON object. The Content-Type must be
// application/json (or application/*+json) — never a type a browser may send
// cross-site without a CORS preflight — and the body must fit the limit.
func (h *handler) decode(w http.ResponseWriter, r *http.Request) (*payload, error) {
	b, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	return parseObject(b)
}

// readBody reads the request body under decode's rules (Content-Type, size
// limit), for a route whose body is not always an object.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, invalidBody(fmt.Sprintf("Request body must be at most %d bytes", h.cfg.maxBody))
		}
		return nil, invalidBody("Request body could not be read")
	}
	return b, nil
}

// checkContentType accepts application/json or application/*+json, with
// no charset but utf-8.
func checkContentType(ct string) error {
	switch ct {
	case "application/json", "application/json; charset=utf-8":
		return nil // what clients send, judged without parsing
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return invalidBody("Content-Type must be application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return invalidBody("Content-Type charset must be utf-8")
	}
	return nil
}

// parseObject parses b as one JSON object. Error messages give offsets,
// never the input: a syntax error in a password must not echo it.
func parseObject(b []byte) (*payload, error) {
	if !utf8.Valid(b) {
		return nil, invalidBody("Request body must be valid UTF-8")
	}
	if json.Valid(b) {
		return splitObject(b)
	}
	return decodeObject(b)
}

// splitObject is parseObject for b that json.Valid accepts: the object's
// members are found by skipping over strings and nesting, with no
// decoder, and the values are b's own bytes. The answers are
// decodeObject's.
func splitObject(b []byte) (*payload, error) {
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return nil, invalidBody("Request body must be a JSON object")
	}
	p := &payload{}
	if i = skipSpace(b, i+1); b[i] == '}' {
		p.vals = map[string]json.RawMessage{}
		return p, nil
	}
	p.vals = make(map[string]json.RawMessage, 4)
	for {
		end := stringEnd(b, i)
		var k string
		if raw := b[i:end]; bytes.IndexByte(raw, '\\') < 0 {
			k = string(raw[1 : len(raw)-1])
		} else if err := json.Unmarshal(raw, &k); err != nil {
			return nil, invalidBody("Malformed JSON") // json.Valid accepted it: not reached
		}
		if _, dup := p.vals[k]; dup {
			return nil, invalid(k, "must not be given more than once")
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		end = valueEnd(b, i)
		p.keys = append(p.keys, k)
		p.vals[k] = b[i:end:end]
		if i = skipSpace(b, end); b[i] == '}' {
			return p, nil
		}
		i = skipSpace(b, i+1) // past the comma
	}
}

// skipSpace returns the index of the first byte of b at or after i that
// is not JSON whitespace, or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just after the valid JSON string that starts
// at b[i].
func stringEnd(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// valueEnd returns the index just after the valid JSON value that starts
// at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	// A number, true, false or null: up to the next delimiter.
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// decodeObject is parseObject for any b, with a json.Decoder: its errors
// name the byte of a syntax error.
func decodeObject(b []byte) (*payload, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	malformed := func(err error) error {
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			return invalidBody(fmt.Sprintf("Malformed JSON at byte %d", se.Offset))
		}
		return invalidBody("Malformed JSON")
	}
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, invalidBody("Request body must be a JSON object")
	}
	if err != nil {
		return nil, malformed(err)
	}
	if tok != json.Delim('{') {
		return nil, invalidBody("Request body must be a JSON object")
	}
	p := &payload{vals: make(map[string]json.RawMessage)}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		k, ok := tok.(string)
		if !ok {
			return nil, invalidBody("Malformed JSON")
		}
		if _, dup := p.vals[k]; dup {
			return nil, invalid(k, "must not be given more than once")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err)
		}
		p.keys = append(p.keys, k)
		p.vals[k] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidBody("Request body must hold one JSON object and nothing after it")
	}
	return p, nil
}

// parseObjects parses b as a JSON array of objects, each read as
// parseObject reads a body.
func parseObjects(b []byte) ([]*payload, error) {
	if err := checkJSONValue(b); err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, invalidBody("Request body must be a JSON object or an array of objects")
	}
	out := make([]*payload, len(raws))
	for i, raw := range raws {
		p, err := parseObject(raw)
		if err != nil {
			var ve *users.ValidationError
			if errors.As(err, &ve) && ve.Field == "" {
				// The item, not the body, is at fault.
				return nil, invalidBody(fmt.Sprintf("Item %d of the array must be a JSON object", i))
			}
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// only refuses the first field not in allowed (`"role" is not allowed`).
func (p *payload) only(allowed ...string) error {
	for _, k := range p.keys {
		if !slices.Contains(allowed, k) {
			return invalid(k, "is not allowed")
		}
	}
	return nil
}

// kind is the JSON type of a raw value, from its first byte.
func kind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; c {
	case '"', '{', '[', 't', 'f', 'n':
		return c
	}
	return '0' // a number
}

// decodeString decodes a JSON string. U+FFFD is refused: encoding/json
// turns invalid escapes (a lone surrogate) into it, so two different
// passwords could otherwise decode to the same one.
func decodeString(field string, raw json.RawMessage) (string, error) {
	var s string
	if kind(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return "", invalid(field, "must be a string")
	}
	if strings.ContainsRune(s, utf8.RuneError) {
		return "", invalid(field, "must be valid Unicode text")
	}
	return s, nil
}

// str returns a string field; absent is ("", false); null is an error.
func (p *payload) str(name string) (string, bool, error) {
	raw, ok := p.vals[name]
	if !ok {
		return "", false, nil
	}
	s, err := decodeString(name, raw)
	return s, true, err
}

// nullableStr returns a string-or-null field: null is (nil, true).
func (p *payload) nullableStr(name string) (*string, bool, error) {
	raw, ok := p.vals[name]
	if !ok {
		return nil, false, nil
	}
	if kind(raw) == 'n' {
		return nil, true, nil
	}
	s, err := decodeString(name, raw)
	if err != nil {
		return nil, true, invalid(name, "must be a string or null")
	}
	return &s, true, nil
}

// boolean returns a boolean field; null is an error.
func (p *payload) boolean(name string) (bool, bool, error) {
	raw, ok := p.vals[name]
	if !ok {
		return false, false, nil
	}
	var b bool
	if k := kind(raw); (k != 't' && k != 'f') || json.Unmarshal(raw, &b) != nil {
		return false, true, invalid(name, "must be a boolean")
	}
	return b, true, nil
}

// strList returns an array-of-strings field; null is an error.
func (p *payload) strList(name string) ([]string, bool, error) {
	raw, ok := p.vals[name]
	if !ok {
		return nil, false, nil
	}
	l, err := decodeStrList(name, raw)
	return l, true, err
}

func decodeStrList(name string, raw json.RawMessage) ([]string, error) {
	var items []json.RawMessage
	if kind(raw) != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, invalid(name, "must be an array of strings")
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, err := decodeString(name, it)
		if err != nil {
			return nil, invalid(name, "must be an array of strings")
		}
		out[i] = s
	}
	return out, nil
}

// strOrList returns a field that is a string or an array of strings.
func (p *payload) strOrList(name string) ([]string, bool, error) {
	raw, ok := p.vals[name]
	if !ok {
		return nil, false, nil
	}
	switch kind(raw) {
	case '"':
		s, err := decodeString(name, raw)
		return []string{s}, true, err
	case '[':
		l, err := decodeStrList(name, raw)
		if err != nil {
			return nil, true, invalid(name, "must be a string or an array of strings")
		}
		return l, true, nil
	}
	return nil, true, invalid(name, "must be a string or an array of strings")
}

// object returns an object field, itself read strictly.
func (p *payload) object(name string) (*payload, bool, error) {
	raw, ok := p.vals[name]
	if !ok {
		return nil, false, nil
	}
	if kind(raw) != '{' {
		return nil, true, invalid(name, "must be an object")
	}
	q, err := parseObject(raw)
	return q, true, err
}

// metadata returns an object-or-null field as a map; null is an empty map.
func (p *payload) metadata(name string) (map[string]any, bool, error) {
	raw, ok := p.vals[name]
	if !ok {
		return nil, false, nil
	}
	m := map[string]any{}
	switch kind(raw) {
	case 'n':
		return m, true, nil
	case '{':
		if json.Unmarshal(raw, &m) == nil {
			return m, true, nil
		}
	}
	return nil, true, invalid(name, "must be an object or null")
}

// email returns an email field: a string whose white space around it is
// trimmed (as the Manager trims it on every flow) and which has no control
// character left inside (refusing it here keeps the rule in one obvious
// place for every route).
func (p *payload) email(name string) (string, bool, error) {
	s, ok, err := p.str(name)
	if err != nil {
		return "", ok, err
	}
	s = strings.TrimSpace(s)
	if err := noControl(name, s); err != nil {
		return "", ok, err
	}
	return s, ok, nil
}

func noControl(name, s string) error {
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return invalid(name, "must not contain control characters")
		}
	}
	return nil
}

// emailShape checks an address field as Directus's request schemas do
// (Joi's string().email().required()), with their words: given, not
// empty, and a valid address (internal/validate.Email, after trimming
// surrounding white space). The answer depends on the text alone.
func emailShape(email string, has bool) error {
	switch {
	case !has:
		return invalid("email", "is required")
	case email == "":
		return invalid("email", "is not allowed to be empty")
	case validate.Email(strings.TrimSpace(email)) != "":
		return invalid("email", "must be a valid email")
	}
	return nil
}

// requiredShape checks that a string field is given and not empty, with
// Joi's words.
func requiredShape(name, v string, has bool) error {
	switch {
	case !has:
		return invalid(name, "is required")
	case v == "":
		return invalid(name, "is not allowed to be empty")
	}
	return nil
}

// uriShape checks an optional URL field as Directus's request schemas do
// (Joi's string().uri()): when given and not empty (empty is absent, as
// the Manager takes it), an absolute URI, with a scheme. Whether the URL
// may be used (its allow-list) is the Manager's rule.
func uriShape(name, v string) error {
	if v == "" {
		return nil
	}
	if u, err := url.Parse(v); err != nil || u.Scheme == "" {
		return invalid(name, "must be a valid uri")
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// decodeTokenPassword reads the body {token, password} of the routes that
// spend a mailed token on a new password (accepting an invitation,
// resetting a password): two strings and nothing else, the token
// required. The password is the Manager's to judge.
func (h *handler) decodeTokenPassword(w http.ResponseWriter, r *http.Request) (token, password string, err error) {
	p, err := h.decode(w, r)
	if err != nil {
		return "", "", err
	}
	var errs [3]error
	errs[0] = p.only("token", "password")
	token, _, errs[1] = p.str("token")
	password, _, errs[2] = p.str("password")
	if err := firstErr(errs[:]...); err != nil {
		return "", "", err
	}
	if token == "" {
		return "", "", invalid("token", "is required")
	}
	return token, password, nil
}

// decodeOptional is decode, except that an empty body (with a JSON
// Content-Type or none) is an empty object, as Directus reads it.
func (h *handler) decodeOptional(w http.ResponseWriter, r *http.Request) (*payload, error) {
	if r.Header.Get("Content-Type") != "" {
		return h.decode(w, r)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if err != nil || len(b) > 0 {
		return nil, invalidBody("Content-Type must be application/json")
	}
	return &payload{vals: map[string]json.RawMessage{}}, nil
}

// checkJSONValue refuses a body that is not valid UTF-8 or not exactly one
// JSON value.
func checkJSONValue(b []byte) error {
	if !utf8.Valid(b) {
		return invalidBody("Request body must be valid UTF-8")
	}
	if !json.Valid(b) {
		return invalidBody("Malformed JSON")
	}
	return nil
}
