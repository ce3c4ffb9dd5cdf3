package httpapi

import (
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gousers/users"
)

// This file holds a user on the wire: Directus's directus_users fields, in
// the order of viewFields, with empty strings as null and the password and
// two-factor secret masked when set. GET /users answers pages of them, so
// they are appended to the answer's bytes directly rather than through
// encoding/json's reflection: the bytes are those json.Marshal gives for
// the same fields (strings escaped as it escapes them, times as
// time.Time.MarshalJSON writes them, metadata by json.Marshal itself).

// maskedPassword is what Directus shows for a password that is set.
const maskedPassword = "**********"

// userJSON is a user on the wire, with only the fields named when fields
// is not nil (see parseFields), in the wire order. Without a selection,
// metadata is left out when empty; selected, an absent one is null.
type userJSON struct {
	u      *users.User
	fields []string
}

func (j userJSON) MarshalJSON() ([]byte, error) { return appendUser(nil, j.u, j.fields) }

// usersJSON is a list of users on the wire (see userJSON).
type usersJSON struct {
	us     []*users.User
	fields []string
}

func (j usersJSON) MarshalJSON() ([]byte, error) { return j.appendJSON(nil) }

func (j usersJSON) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '[')
	for i, u := range j.us {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendUser(b, u, j.fields); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendUser appends u's JSON to b (see userJSON).
func appendUser(b []byte, u *users.User, fields []string) ([]byte, error) {
	all := fields == nil
	b = append(b, '{')
	first := true
	key := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...) // the names need no escaping
		b = append(b, '"', ':')
	}
	var err error
	for _, f := range viewFields {
		if !all && !slices.Contains(fields, f) {
			continue
		}
		switch f {
		case "id":
			key(f)
			b = appendJSONString(b, u.ID)
		case "email":
			key(f)
			b = appendNullString(b, u.Email)
		case "password":
			key(f)
			b = appendMasked(b, u.HasPassword)
		case "tfa_secret":
			key(f)
			b = appendMasked(b, u.TwoFactor)
		case "first_name":
			key(f)
			b = appendNullString(b, u.FirstName)
		case "last_name":
			key(f)
			b = appendNullString(b, u.LastName)
		case "status":
			key(f)
			b = appendJSONString(b, string(u.Status))
		case "role":
			key(f)
			if u.Role == nil {
				b = append(b, "null"...)
			} else {
				b = appendJSONString(b, *u.Role)
			}
		case "policies":
			key(f)
			b = append(b, '[')
			for i, p := range u.Policies {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, p)
			}
			b = append(b, ']')
		case "metadata":
			if all && len(u.Metadata) == 0 {
				continue // omitted when empty, unless asked for
			}
			key(f)
			if b, err = appendMarshal(b, u.Metadata); err != nil {
				return nil, err
			}
		case "created_at":
			key(f)
			if b, err = appendTime(b, u.CreatedAt); err != nil {
				return nil, err
			}
		case "updated_at":
			key(f)
			if b, err = appendTime(b, u.UpdatedAt); err != nil {
				return nil, err
			}
		case "last_access":
			key(f)
			if u.LastAccess == nil {
				b = append(b, "null"...)
			} else if b, err = appendTime(b, *u.LastAccess); err != nil {
				return nil, err
			}
		}
	}
	return append(b, '}'), nil
}

// appendNullString appends s as a JSON string, or null when it is empty.
func appendNullString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// appendMasked appends maskedPassword when set, else null.
func appendMasked(b []byte, set bool) []byte {
	if !set {
		return append(b, "null"...)
	}
	return append(append(append(b, '"'), maskedPassword...), '"')
}

// appendJSONString appends s as json.Marshal encodes a string. Printable
// ASCII other than the characters it escapes (" \ < > &) is copied as it
// is; anything else is left to json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime appends t as time.Time.MarshalJSON writes it (RFC 3339 with
// nanoseconds), with its error for a time RFC 3339 cannot write (a year
// outside 0-9999, an offset of a day or more).
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return appendMarshal(b, t)
	}
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		return appendMarshal(b, t)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendMarshal appends json.Marshal's encoding of v.
func appendMarshal(b []byte, v any) ([]byte, error) {
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}
