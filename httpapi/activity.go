package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gousers/users"
)

// activityFields are the fields of an activity entry on the wire, in
// their order: Directus's directus_activity (user is the actor), then our
// own (flow, email, role, request_id).
var activityFields = []string{"id", "action", "user", "timestamp", "ip", "user_agent", "collection", "item",
	"origin", "flow", "email", "role", "request_id"}

// activityView is an entry's fields in wire order; null where Directus has
// null (no actor, no IP…).
func activityView(e users.Event, fields []string) orderedObject {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	out := make(orderedObject, 0, len(activityFields))
	for _, f := range activityFields {
		if fields != nil && !slices.Contains(fields, f) {
			continue
		}
		var v any
		switch f {
		case "id":
			v = e.ID
		case "action":
			v = e.Action
		case "user":
			v = str(e.Actor)
		case "timestamp":
			v = e.Time.UTC().Format(time.RFC3339Nano)
		case "ip":
			v = str(e.IP)
		case "user_agent":
			v = str(e.UserAgent)
		case "collection":
			v = "directus_users"
		case "item":
			v = e.UserID
		case "origin":
			v = str(e.Origin)
		case "flow":
			v = e.Flow
		case "email":
			v = str(e.Email)
		case "role":
			v = str(e.Role)
		case "request_id":
			v = str(e.RequestID)
		}
		out = append(out, orderedField{f, v})
	}
	return out
}

// parseActivityQuery reads GET /activity's query string as GET /users's
// (filter, sort, limit, offset, page, fields, meta), over the activity's
// fields; search is refused.
func parseActivityQuery(r *http.Request) (listQuery, users.ActivityQuery, error) {
	var aq users.ActivityQuery
	lq, err := parseListQuery(r.URL.Query(), "activity entries", activityFields)
	if err != nil {
		return lq, aq, err
	}
	if lq.search != "" {
		return lq, aq, badQuery("search is not supported on activity")
	}
	aq.Filter, aq.Sort, aq.Limit, aq.Offset = lq.filter, lq.sort, lq.limit, lq.offset
	return lq, aq, nil
}

// listActivity (admin): GET /activity → 200 {"data": [entries], "meta"…},
// as Directus lists directus_activity; the entries are the users'
// lifecycle events (see users.Event).
func (h *handler) listActivity(w http.ResponseWriter, r *http.Request) {
	lq, aq, err := parseActivityQuery(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	data := []any{}
	if lq.none {
		if _, err := h.m.CountActivity(ctx, aq); err != nil {
			h.writeError(w, r, err)
			return
		}
	} else {
		es, err := h.m.ListActivity(ctx, aq)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		data = make([]any, len(es))
		for i, e := range es {
			data[i] = activityView(e, lq.fields)
		}
	}
	body := orderedObject{{"data", data}}
	if len(lq.meta) > 0 {
		meta := orderedObject{}
		for _, name := range lq.meta {
			q := aq
			if name == "total_count" {
				q = users.ActivityQuery{}
			}
			n, err := h.m.CountActivity(ctx, q)
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			meta = append(meta, orderedField{name, n})
		}
		body = append(body, orderedField{"meta", meta})
	}
	h.writeJSON(w, http.StatusOK, body)
}

// getActivity (admin): GET /activity/{id} → 200 {"data": entry}; an
// unknown id is 403 FORBIDDEN, as Directus answers for an item the caller
// may not see.
func (h *handler) getActivity(w http.ResponseWriter, r *http.Request) {
	fields, err := parseFields(listParam(r, "fields"), "activity entries", activityFields)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.writeError(w, r, users.ErrForbidden)
		return
	}
	es, err := h.m.ListActivity(r.Context(), users.ActivityQuery{Filter: []byte(`{"id":{"_eq":"` + strconv.FormatInt(id, 10) + `"}}`)})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if len(es) == 0 {
		h.writeError(w, r, users.ErrForbidden)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: activityView(es[0], fields)})
}

// listParam is a list parameter in its plain or [] form, split on commas.
func listParam(r *http.Request, name string) []string {
	v := r.URL.Query()
	return splitList(append(slices.Clone(v[name]), v[name+"[]"]...))
}
