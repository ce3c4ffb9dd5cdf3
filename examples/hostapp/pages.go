package main

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// pageData is what every page of the application shows.
type pageData struct {
	Title   string
	Me      string // the signed-in user's address, or ""
	Admin   bool
	Members []member
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Hostapp</title></head>
<body>
<header><nav aria-label="Main"><a href="/">Hostapp</a> · <a href="/team">Team</a>{{if .Admin}} · <a href="/admin/">Console</a>{{end}}</nav>
{{if .Me}}<p>Signed in as <strong id="me">{{.Me}}</strong></p>
<form method="post" action="/admin/logout"><button type="submit">Sign Out</button></form>
{{else}}<p><a href="/admin/login">Sign In</a></p>{{end}}
</header>
<main><h1>{{.Title}}</h1>
{{end}}
{{define "foot"}}</main></body></html>
{{end}}

{{define "home"}}{{template "head" .}}
<p>A small application that embeds the users library. Its team page is for signed-in users.</p>
{{template "foot" .}}{{end}}

{{define "team"}}{{template "head" .}}
{{if .Members}}
<table>
<caption>Team members, in the order they joined</caption>
<thead><tr><th scope="col">Email</th><th scope="col">Joined</th></tr></thead>
<tbody>{{range .Members}}<tr class="member"><td>{{.Email}}</td><td>{{.JoinedAt}}</td></tr>{{end}}</tbody>
</table>
{{else}}<p>Nobody has joined the team yet.</p>{{end}}
{{template "foot" .}}{{end}}
`))

// render answers the named page.
func render(w http.ResponseWriter, status int, name string, data pageData) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
