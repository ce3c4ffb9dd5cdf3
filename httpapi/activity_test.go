package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// GET /activity lists the users' events as Directus lists
// directus_activity, to administrators only, with the request's facts.
func TestActivity(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.openRegistration(false)
	r := request("POST", "/users/register", `{"email":"ann@example.com","password":"`+password+`"}`)
	r.Header.Set("User-Agent", "SDK/1.0")
	r.Header.Set("X-Request-Id", "req-42")
	r.Header.Set("Origin", "https://app.example.com")
	require.Equal(t, http.StatusNoContent, f.serve(r).Code)
	w := f.do("POST", "/auth/login", `{"email":"ann@example.com","password":"`+password+`"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var login struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &login))
	ann := f.user("ann@example.com")

	type entry struct {
		ID         int64   `json:"id"`
		Action     string  `json:"action"`
		User       *string `json:"user"`
		Timestamp  string  `json:"timestamp"`
		IP         *string `json:"ip"`
		UserAgent  *string `json:"user_agent"`
		Collection string  `json:"collection"`
		Item       string  `json:"item"`
		Origin     *string `json:"origin"`
		Flow       string  `json:"flow"`
		RequestID  *string `json:"request_id"`
	}
	var list struct {
		Data []entry        `json:"data"`
		Meta map[string]int `json:"meta"`
	}
	w = f.admin("GET", "/activity?sort=-id&meta=*&filter[item][_eq]="+ann.ID, "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &list))
	require.Len(t, list.Data, 2)
	in, reg := list.Data[0], list.Data[1]
	assert.Equal(t, "login", in.Action)
	assert.Equal(t, "directus_users", in.Collection)
	assert.Equal(t, ann.ID, in.Item)
	require.NotNil(t, in.User)
	assert.Equal(t, ann.ID, *in.User, "a sign-in is the user's")
	assert.Equal(t, "create", reg.Action)
	assert.Equal(t, "registered", reg.Flow)
	assert.Nil(t, reg.User, "a registration is anonymous")
	require.NotNil(t, reg.UserAgent)
	assert.Equal(t, "SDK/1.0", *reg.UserAgent)
	assert.Equal(t, "req-42", *reg.RequestID)
	assert.Equal(t, "https://app.example.com", *reg.Origin)
	require.NotNil(t, reg.IP)
	assert.Equal(t, map[string]int{"total_count": 2, "filter_count": 2}, list.Meta)

	// One entry, some fields.
	w = f.admin("GET", "/activity/"+strconv.FormatInt(in.ID, 10)+"?fields=action,item", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"data":{"action":"login","item":"`+ann.ID+`"}}`, w.Body.String())
	// An administrator's change names the administrator: here the
	// authorizer's token, which is no user, so none.
	w = f.admin("PATCH", "/users/"+ann.ID, `{"first_name":"Ann"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = f.admin("GET", "/activity?filter={\"flow\":{\"_eq\":\"updated\"}}&fields=action,user", "")
	assert.JSONEq(t, `{"data":[{"action":"update","user":null}]}`, w.Body.String())

	// Others are refused as Directus refuses them.
	wantError(t, f.do("GET", "/activity", ""), http.StatusForbidden, "FORBIDDEN", "")
	r = request("GET", "/activity", "")
	r.Header.Set("Authorization", "Bearer "+login.Data.AccessToken)
	wantError(t, f.serve(r), http.StatusForbidden, "FORBIDDEN", "")
	wantError(t, f.admin("GET", "/activity/999999", ""), http.StatusForbidden, "FORBIDDEN", "")
	wantError(t, f.admin("GET", "/activity/x'1", ""), http.StatusForbidden, "FORBIDDEN", "")
	// Bad queries.
	for _, q := range []string{"filter[password][_eq]=x", "filter[item][_icontains]=x", "sort=email", "fields=password", "search=ann", "limit=-2"} {
		w := f.admin("GET", "/activity?"+q, "")
		assert.Equal(t, http.StatusBadRequest, w.Code, "%s: %s", q, w.Body.String())
	}
}

// An administrator who signs in with a token is the actor of its changes.
func TestActivityAdminActor(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	adminRole, err := f.m.CreateRole(f.ctx, users.Role{Name: "Admin", AdminAccess: true})
	require.NoError(t, err)
	boss := f.create(users.CreateUserInput{Email: "boss@example.com", Password: password, Role: &adminRole.ID})
	w := f.do("POST", "/auth/login", `{"email":"boss@example.com","password":"`+password+`"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var login struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &login))
	target := f.create(users.CreateUserInput{Email: "t@example.com"})
	r := request("PATCH", "/users/"+target.ID, `{"role":"`+f.role.ID+`"}`)
	r.Header.Set("Authorization", "Bearer "+login.Data.AccessToken)
	require.Equal(t, http.StatusOK, f.serve(r).Code)
	w = f.admin("GET", "/activity?filter[item][_eq]="+target.ID+"&filter[action][_eq]=update&fields=user,role", "")
	assert.JSONEq(t, `{"data":[{"user":"`+boss.ID+`","role":"`+f.role.ID+`"}]}`, w.Body.String())
}

// last_access is kept as Directus keeps it: set by a sign-in.
func TestLastAccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.create(users.CreateUserInput{Email: "la@example.com", Password: password})
	w := f.admin("GET", "/users/"+u.ID+"?fields=last_access", "")
	assert.JSONEq(t, `{"data":{"last_access":null}}`, w.Body.String())
	require.Equal(t, http.StatusOK, f.do("POST", "/auth/login", `{"email":"la@example.com","password":"`+password+`"}`).Code)
	w = f.admin("GET", "/users/"+u.ID+"?fields=last_access", "")
	assert.JSONEq(t, `{"data":{"last_access":"`+f.clock.Now().UTC().Format("2006-01-02T15:04:05Z07:00")+`"}}`, w.Body.String())
}
