package httpapi

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// decodeSeeds are bodies for the two parsers of an object: flat and nested
// values, escapes in keys and values, whitespace everywhere, duplicate
// keys (one spelled with an escape), and JSON that is not an object.
var decodeSeeds = []string{
	`{}`, ` { } `, "\t{\r\n}\n",
	`{"email":"a@example.com","password":"pw"}`,
	` { "email" : "a@example.com" , "password" : "p\"w\\" } `,
	`{"email":["a@example.com","b@example.com"],"role":"r"}`,
	`{"a":{"b":[1,{"c":"}]"}],"d":null},"e":true,"f":false,"g":-1.5e+3,"h":0}`,
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"\ud800":1,"\ufffd":2}`, `{"k\"ey":"v","":""}`,
	`{"a" :[ ] ,"b":{ }}`, `{"n":12 }`, `{"n":12}`, `{"s":"\u2028<>&"}`,
	`[]`, `[{"a":1}]`, `"text"`, `12`, `true`, `null`, ` "x" `,
	// Not JSON: the decoder answers these.
	``, ` `, `{`, `{"a":`, `{"a":1,}`, `{"a" 1}`, `{"a":1}x`, `{"a":1}{}`, `{a:1}`, `{"a":tru}`,
}

// TestSplitObjectMatchesDecoder: for every body json.Valid accepts,
// splitObject (no decoder) gives decodeObject's answer.
func TestSplitObjectMatchesDecoder(t *testing.T) {
	t.Parallel()
	n := 0
	for _, s := range decodeSeeds {
		if json.Valid([]byte(s)) {
			n++
			sameParse(t, []byte(s))
		}
	}
	require.Greater(t, n, 20)
	// And parseObject answers invalid JSON as the decoder does.
	for _, s := range []string{``, `{`, `{"a":1,}`, `{"a" 1}`, `{"a":1}x`} {
		_, err1 := parseObject([]byte(s))
		_, err2 := decodeObject([]byte(s))
		require.Error(t, err1, s)
		assert.Equal(t, err2.Error(), err1.Error(), s)
	}
}

func FuzzSplitObject(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) || !json.Valid(b) {
			return
		}
		sameParse(t, b)
	})
}

// sameParse checks that splitObject and decodeObject agree on b.
func sameParse(t *testing.T, b []byte) {
	t.Helper()
	want, werr := decodeObject(b)
	got, gerr := splitObject(b)
	if werr != nil {
		require.Error(t, gerr, "%q", b)
		var wv, gv *users.ValidationError
		require.True(t, errors.As(werr, &wv) && errors.As(gerr, &gv), "%q", b)
		assert.Equal(t, *wv, *gv, "%q", b)
		return
	}
	require.NoError(t, gerr, "%q", b)
	assert.Equal(t, want.keys, got.keys, "%q", b)
	require.Len(t, got.vals, len(want.vals), "%q", b)
	for k, v := range want.vals {
		assert.Equal(t, string(v), string(got.vals[k]), "%q: %q", b, k)
	}
}
