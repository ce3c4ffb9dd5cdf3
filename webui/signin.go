package webui

import "net/http"

// signedIn returns the administrator a request's session cookies belong to,
// or nil.
func (h *handler) signedIn(w http.ResponseWriter, r *http.Request) *adminInfo {
	return nil
}

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if h.cfg.authorize != nil {
		h.notFound(w, r)
		return
	}
	h.render(w, r, http.StatusOK, "login", &page{Title: "Sign In", Values: map[string]string{"next": h.localNext(r.URL.Query().Get("next"))}})
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	h.notFound(w, r)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	h.redirect(w, r, h.p+"/login", nil)
}

func (h *handler) resetRoutes(handle func(string, http.HandlerFunc)) {}
