package webui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/webui"
)

// A host app mounts the console at /admin/ beside its own routes, and
// points the mailed links at the console's pages.
func ExampleNew() {
	m, err := users.New(memstore.New(), logmailer.New(nil),
		users.Links{PublicURL: "https://app.example.com"},
		webui.LinkPaths("/admin"))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", webui.New(m, webui.WithSecureCookies(true)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the app") })

	for _, path := range []string{"/admin/users", "/admin/login", "/admin/accept-invite?token=x"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, w.Code, w.Header().Get("Location") != "")
	}
	fmt.Println(webui.LinkPaths("/admin").AcceptInvitePath)
	// Output:
	// /admin/users 303 true
	// /admin/login 200 false
	// /admin/accept-invite?token=x 404 false
	// /admin/accept-invite
}

// A host app with a login of its own decides who is an administrator.
func ExampleWithAuthorizer() {
	m, err := users.New(memstore.New(), logmailer.New(nil))
	if err != nil {
		panic(err)
	}
	isAdmin := func(r *http.Request) bool { return r.Header.Get("X-Role") == "admin" } // the app's own check
	h := webui.New(m, webui.WithAuthorizer(isAdmin))

	for _, role := range []string{"admin", "guest"} {
		r := httptest.NewRequest("GET", "/admin/users", nil)
		r.Header.Set("X-Role", role)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(role, w.Code)
	}
	// Output:
	// admin 200
	// guest 403
}
