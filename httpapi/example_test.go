package httpapi_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// Mount the API under /api/ of the host app's mux, with a static admin
// token, and drive it as a Directus client would.
func Example() {
	m, err := users.New(memstore.New(), memmailer.New(),
		users.WithHasher(userstest.Hasher{}), // tests only: use the default argon2id
		users.Links{PublicURL: "https://app.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	api := httpapi.New(m, httpapi.WithAuthorizer(httpapi.BearerToken("admin-secret")))

	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))

	call := func(method, path, token, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	show := func(w *httptest.ResponseRecorder) {
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String())))
	}
	register := `{"email":"ada@example.com","password":"correct horse"}`

	// Registration is off by default, and only an administrator may turn it
	// on.
	show(call("POST", "/api/users/register", "", register))
	settings := `{"public_registration":true,"public_registration_verify_email":false}`
	show(call("PATCH", "/api/settings", "", settings))
	fmt.Println(call("PATCH", "/api/settings", "admin-secret", settings).Code)

	show(call("POST", "/api/users/register", "", register))
	show(call("POST", "/api/users/register", "", `{"email":"ada@example.com","password":"x","role":"admin"}`))
	show(call("POST", "/api/auth/login", "", `{"email":"ada@example.com","password":"wrong"}`))
	w := call("POST", "/api/auth/login", "", register)
	fmt.Println(w.Code, strings.Contains(w.Body.String(), `"access_token":`), strings.Contains(w.Body.String(), `"refresh_token":`))

	// Output:
	// 403 {"errors":[{"message":"You don't have permission to access this.","extensions":{"code":"FORBIDDEN"}}]}
	// 403 {"errors":[{"message":"You don't have permission to access this.","extensions":{"code":"FORBIDDEN"}}]}
	// 200
	// 204
	// 400 {"errors":[{"message":"Invalid payload. \"role\" is not allowed.","extensions":{"code":"INVALID_PAYLOAD"}}]}
	// 401 {"errors":[{"message":"Invalid user credentials.","extensions":{"code":"INVALID_CREDENTIALS"}}]}
	// 200 true true
}

// Behind a reverse proxy, X-Forwarded-For counts only when the request
// comes from the proxy.
func ExampleClientIP() {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}

	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.7:41000" // the proxy
	r.Header.Set("X-Forwarded-For", "192.0.2.1, 198.51.100.23")
	fmt.Println(httpapi.ClientIP(r, proxies))

	r.RemoteAddr = "203.0.113.5:52000" // a client talking to the server directly
	fmt.Println(httpapi.ClientIP(r, proxies))
	// Output:
	// 198.51.100.23
	// 203.0.113.5
}

func ExampleBearerToken() {
	auth := httpapi.BearerToken("admin-secret")

	r := httptest.NewRequest("GET", "/users", nil)
	fmt.Println(auth(r))
	r.Header.Set("Authorization", "Bearer admin-secret")
	fmt.Println(auth(r))
	// Output:
	// false
	// true
}

// Put Authenticate in front of the application's routes; guard the pages
// that need a user, and read who is calling in the handler.
func ExampleAuthenticate() {
	m, err := users.New(memstore.New(), memmailer.New(),
		users.WithHasher(userstest.Hasher{}), // tests only: use the default argon2id
		users.Links{PublicURL: "https://app.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /home", httpapi.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s", httpapi.PrincipalFrom(r.Context()).User.Email)
	})))
	app := httpapi.Authenticate(m, httpapi.WithSignInURL("/admin/login"))(mux)

	ctx := context.Background()
	if _, err := m.CreateUser(ctx, users.CreateUserInput{Email: "ada@example.com", Password: "correct horse battery"}); err != nil {
		log.Fatal(err)
	}
	s, err := m.Login(ctx, users.LoginInput{Email: "ada@example.com", Password: "correct horse battery"})
	if err != nil {
		log.Fatal(err)
	}
	get := func(token, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/home", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return w
	}
	fmt.Println(get(s.AccessToken, "*/*").Body.String())
	fmt.Println(get("", "text/html").Header().Get("Location")) // a browser goes to sign in
	fmt.Println(get("", "application/json").Code)              // an API call gets 401
	// Output:
	// Hello, ada@example.com
	// /admin/login?next=%2Fhome
	// 401
}
