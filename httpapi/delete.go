package httpapi

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"
)

// deleteUser (admin): DELETE /users/{id} → 204. An unknown id is 403
// FORBIDDEN, as for GET /users/{id}; deleting the last active user with
// admin access is 400 INVALID_PAYLOAD.
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := h.m.DeleteUsers(r.Context(), r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}

// deleteUsers (admin): DELETE /users with an array of ids, or {"keys":
// [ids]}, as Directus takes them → 204. All or none: one unknown id (403
// FORBIDDEN) or the last active administrator among them (400) deletes
// nothing. Directus's {"query": …} form is refused by name.
func (h *handler) deleteUsers(w http.ResponseWriter, r *http.Request) {
	b, err := h.readBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var keys []string
	switch kind(b) {
	case '[':
		if err := checkJSONValue(b); err != nil {
			h.writeError(w, r, err)
			return
		}
		if keys, err = decodeStrList("keys", b); err != nil {
			h.writeError(w, r, err)
			return
		}
	default:
		p, err := parseObject(b)
		if err != nil {
			h.writeError(w, r, invalidBody("Request body must be an array of user ids, or an object with \"keys\""))
			return
		}
		if _, ok := p.vals["query"]; ok {
			h.writeError(w, r, invalid("query", "is not supported: give the ids to delete as an array, or as \"keys\""))
			return
		}
		var errs [2]error
		errs[0] = p.only("keys")
		keys, _, errs[1] = p.strList("keys")
		if err := firstErr(errs[:]...); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if err := h.m.DeleteUsers(r.Context(), keys...); err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
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
