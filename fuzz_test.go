package users

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/gousers/users/store"
)

// Fuzz targets for email parsing and token parsing. The filter and the
// URL allow-list have theirs beside their tests (FuzzParseFilter,
// FuzzFilterMatch, FuzzAllowList). The seeds run in plain `go test`; fuzz
// one at a time with `go test -run='^$' -fuzz='^FuzzValidateEmail$' .`.

var emailSeeds = []string{
	"", "a@b.co", " Ann@Example.COM ", "a.b+c@x-y.example.com", "a@b", "a@@b.com", "@b.com", "a@.com",
	"a@b..com", ".a@b.com", "a.@b.com", "a..b@c.com", "a b@c.com", "a@b.com\r\nBcc: x@y.com", "a\n@b.com",
	"\"a\"@b.com", "a@-b.com", "a@b-.com", "a@xn--bcher-kva.example", "jöhn@example.com", "\u212a@example.com",
	"a@b.com\x00", "\ta@b.com\v", strings.Repeat("a", 64) + "@b.com", strings.Repeat("a", 65) + "@b.com",
	"a@" + strings.Repeat("b", 63) + ".com", "a@" + strings.Repeat("b", 64) + ".com",
	"!#$%&'*+-/=?^_`{|}~@example.com", "a@b.com, c@d.com; e@f.com\nA@B.COM\r\n\n  ,",
	"\u0085a@b.com\u00a0", "İ@example.com", "\xff@example.com",
}

// FuzzValidateEmail checks validateEmail and NormalizeEmail: they never
// panic; NormalizeEmail is idempotent; a valid address (once trimmed) is
// plain printable ASCII without CR, LF, space or control characters, has
// exactly one @, at most 254 bytes, stays valid and keeps its length when
// normalised, and net/mail reads it as exactly that address; every refusal
// is a *ValidationError for "email".
func FuzzValidateEmail(f *testing.F) {
	for _, s := range emailSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEmail(s)
		if nn := NormalizeEmail(n); nn != n {
			t.Fatalf("NormalizeEmail not idempotent: %q -> %q -> %q", s, n, nn)
		}
		err := validateEmail(s)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "email" || !errors.Is(err, ErrInvalidPayload) || ve.Reason == "" {
				t.Fatalf("validateEmail(%q) = %v, not an email *ValidationError", s, err)
			}
			return
		}
		e := strings.TrimSpace(s)
		for i := 0; i < len(e); i++ {
			if c := e[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("valid %q has byte %q", e, c)
			}
		}
		if strings.Count(e, "@") != 1 || len(e) > 254 {
			t.Fatalf("valid %q: want one @ and at most 254 bytes", e)
		}
		if err := validateEmail(n); err != nil {
			t.Fatalf("normalised %q of valid %q is invalid: %v", n, s, err)
		}
		if len(n) != len(e) || n != strings.ToLower(e) {
			t.Fatalf("NormalizeEmail(%q) = %q, want the ASCII lower case", e, n)
		}
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e || a.Name != "" {
			t.Fatalf("valid %q: net/mail reads %v, %v", e, a, err)
		}
	})
}

// FuzzParseEmailList checks ParseEmailList: items are trimmed, not empty,
// free of separators, distinct under NormalizeEmail, found in the input,
// and parsing the joined result gives it back.
func FuzzParseEmailList(f *testing.F) {
	for _, s := range emailSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items := ParseEmailList(s)
		seen := map[string]bool{}
		for _, it := range items {
			if it == "" || it != strings.TrimSpace(it) || strings.ContainsAny(it, ",;\r\n") {
				t.Fatalf("ParseEmailList(%q): bad item %q", s, it)
			}
			if !strings.Contains(s, it) {
				t.Fatalf("ParseEmailList(%q): item %q is not in the input", s, it)
			}
			k := NormalizeEmail(it)
			if seen[k] {
				t.Fatalf("ParseEmailList(%q): duplicate %q", s, it)
			}
			seen[k] = true
		}
		again := ParseEmailList(strings.Join(items, "\n"))
		if strings.Join(again, "\n") != strings.Join(items, "\n") {
			t.Fatalf("ParseEmailList not stable: %q then %q", items, again)
		}
	})
}

// FuzzParseToken checks parseToken: it never panics; it accepts exactly the
// canonical unpadded base64url encodings of 32 bytes (43 characters) and
// returns their SHA-256, nil otherwise; every token newToken mints, and
// every encoding of 32 bytes, is accepted.
func FuzzParseToken(f *testing.F) {
	tok, _, err := newToken(nil, "u", "u@example.com", store.PurposeInvite, time.Unix(0, 0), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	raw := bytes.Repeat([]byte{0xff}, 32)
	for _, s := range []string{
		tok, "", strings.Repeat("A", 43), strings.Repeat("A", 42) + "B", strings.Repeat("_", 43),
		strings.Repeat("-", 42) + "w", strings.Repeat("A", 44), strings.Repeat("A", 42) + "=",
		strings.Repeat("+", 43), strings.Repeat("/", 43), " " + tok[1:], "é" + tok[2:], tok[:42] + "\x00",
	} {
		f.Add(s, raw)
	}
	f.Add(tok, []byte("short"))
	strict := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		h, ok := parseToken(s)
		if !ok {
			if h != nil {
				t.Fatalf("parseToken(%q) refused with a hash", s)
			}
			// (The decoder skips CR and LF, so a canonical token is one
			// that re-encodes to itself.)
			if b, err := strict.DecodeString(s); err == nil && len(b) == 32 && base64.RawURLEncoding.EncodeToString(b) == s {
				t.Fatalf("parseToken refused the canonical token %q", s)
			}
		} else {
			if len(s) != 43 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				t.Fatalf("parseToken accepted %q", s)
			}
			b, err := strict.DecodeString(s)
			if err != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != s {
				t.Fatalf("parseToken accepted non-canonical %q", s)
			}
			if sum := sha256.Sum256([]byte(s)); !bytes.Equal(h, sum[:]) {
				t.Fatalf("parseToken(%q) hash is not its SHA-256", s)
			}
		}
		if len(raw) >= 32 {
			enc := base64.RawURLEncoding.EncodeToString(raw[:32])
			if _, ok := parseToken(enc); !ok {
				t.Fatalf("parseToken refused %q, the encoding of 32 bytes", enc)
			}
		}
	})
}
