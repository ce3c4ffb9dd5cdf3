package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gousers/users"
)

// This file holds Directus's server routes: GET /server/ping and
// GET /server/health. Neither is rate limited (monitors poll them), and
// neither reads a body.

// serverRoutes registers the server routes on the handler's mux.
func (h *handler) serverRoutes() {
	h.mux.HandleFunc("GET /server/ping", h.ping)
	h.mux.HandleFunc("GET /server/health", h.health)
}

// ping: GET /server/ping → 200 "pong" as text/plain, as Directus answers.
func (h *handler) ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", "4")
	_, _ = w.Write([]byte("pong"))
}

// health: GET /server/health → users.Manager.Health as
// application/health+json, 503 when its status is "error". Administrators
// (see isAdmin) get every check; anyone else gets the status alone, as
// Directus does.
func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	report, err := h.m.Health(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	report.ServiceID = h.cfg.serviceID
	var body any = struct {
		Status users.HealthStatus `json:"status"`
	}{report.Status}
	if h.isAdmin(r) {
		body = report
	}
	b, err := json.Marshal(body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if report.Status == users.HealthError {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/health+json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
