package users

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on administrators' input, checked by the Manager before any store
// call, so that every store answers the same clear error.
const (
	maxIDLen         = 255 // role, policy and user ids
	maxRoleNameLen   = 100 // Directus's directus_roles.name
	maxMetadataDepth = 32  // nesting of objects and arrays in metadata
)

// validateID checks an id an administrator gives (a role, a policy, a
// user to act on): 1 to 255 bytes of valid UTF-8 without control
// characters. nil is fine (no id).
func validateID(field string, id *string) error {
	if id == nil {
		return nil
	}
	return idProblem(field, *id)
}

// idProblem checks an id that names a record: 1 to 255 bytes of valid
// UTF-8 without control characters. An id outside newIDProblem's alphabet
// names no record (none can be created), and the store says so.
func idProblem(field, id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return invalid(field, "must not be empty")
	case len(id) > maxIDLen:
		return invalid(field, fmt.Sprintf("must be at most %d bytes", maxIDLen))
	case !utf8.ValidString(id):
		return invalid(field, "must be valid UTF-8")
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return invalid(field, "must not contain control characters (NUL included)")
		}
	}
	return nil
}

// newIDProblem checks the id of a new role or policy: 1 to 255 ASCII
// letters, digits, '-' and '_'. The alphabet keeps an id one path segment
// wherever a page or a client builds a URL from it ("../settings?x" would
// reach another page), and keeps ids that differ only by spaces or letter
// forms from meeting on a store whose collation equates them. Generated
// ids are UUIDs, and Directus's ids are too.
func newIDProblem(field, id string) error {
	if err := idProblem(field, id); err != nil {
		return err
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return invalid(field, `must hold only letters, digits, "-" and "_"`)
		}
	}
	return nil
}

// validIDs checks a list of ids (see idProblem).
func validIDs(field string, ids []string) error {
	for _, id := range ids {
		if err := idProblem(field, id); err != nil {
			return err
		}
	}
	return nil
}

// possibleID reports whether id could name a record: a lookup by an id
// that could not have been stored answers not found without asking the
// store.
func possibleID(id string) bool { return idProblem("id", id) == nil }

// cleanMetadata checks metadata (host-app fields) and returns it as plain
// JSON values (map[string]any, []any, string, float64, bool, nil): at
// most 32 levels of objects and arrays, finite numbers, and keys and
// strings of valid UTF-8 without NUL characters (which some databases
// cannot store). nil stays nil.
func cleanMetadata(field string, m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	v, err := cleanJSON(field, m, 1)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

func cleanJSON(field string, v any, depth int) (any, error) {
	tooDeep := func() error {
		return invalid(field, fmt.Sprintf("must not nest objects and arrays more than %d deep", maxMetadataDepth))
	}
	badString := func(s string) error {
		if !utf8.ValidString(s) {
			return invalid(field, "must hold valid UTF-8 text")
		}
		if strings.ContainsRune(s, 0) {
			return invalid(field, "must not contain NUL characters")
		}
		return nil
	}
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case string:
		return x, badString(x)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, invalid(field, "must hold finite numbers")
		}
		return x, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, invalid(field, "must hold finite numbers")
		}
		return f, nil
	case map[string]any:
		if depth > maxMetadataDepth {
			return nil, tooDeep()
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if err := badString(k); err != nil {
				return nil, err
			}
			c, err := cleanJSON(field, e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		if depth > maxMetadataDepth {
			return nil, tooDeep()
		}
		out := make([]any, len(x))
		for i, e := range x {
			c, err := cleanJSON(field, e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	// Any other Go value (an int, a struct, a typed map): through JSON, as
	// a store would keep it, after a bound on its nesting.
	if reflectDepth(reflect.ValueOf(v), 0) > maxMetadataDepth-depth+1 {
		return nil, tooDeep()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, invalid(field, "must be representable as JSON")
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, invalid(field, "must be representable as JSON")
	}
	return cleanJSON(field, plain, depth)
}

// reflectDepth measures the nesting of maps, slices, arrays, structs and
// pointers in v, stopping a little past the limit.
func reflectDepth(v reflect.Value, d int) int {
	if d > maxMetadataDepth+1 {
		return d
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return d
		}
		return reflectDepth(v.Elem(), d)
	case reflect.Map:
		deepest := d + 1
		for it := v.MapRange(); it.Next(); {
			deepest = max(deepest, reflectDepth(it.Value(), d+1))
		}
		return deepest
	case reflect.Slice, reflect.Array:
		deepest := d + 1
		for i := 0; i < v.Len(); i++ {
			deepest = max(deepest, reflectDepth(v.Index(i), d+1))
		}
		return deepest
	case reflect.Struct:
		deepest := d + 1
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				deepest = max(deepest, reflectDepth(v.Field(i), d+1))
			}
		}
		return deepest
	}
	return d
}

// jsonHasNUL reports whether a JSON document escapes a NUL character
// (`\u0000` not itself escaped).
func jsonHasNUL(doc []byte) bool {
	s := string(doc)
	for i := strings.Index(s, `\u0000`); i >= 0; {
		n := 0
		for j := i; j >= 0 && s[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		k := strings.Index(s[i+1:], `\u0000`)
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return false
}
