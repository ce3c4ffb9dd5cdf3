package doccheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checks find what they are for: each broken reference below is
// reported, and each sound one is not. (A check that passes everything
// would pass the docs too.)
func TestDocChecksCatchDrift(t *testing.T) {
	t.Parallel()
	m := loadModule(t)
	const godoc = "https://pkg.go.dev/github.com/gousers/users"

	t.Run("links", func(t *testing.T) {
		t.Parallel()
		// A heading of the README and of the root package's doc, whatever
		// they are called today.
		readme, err := readDoc(m.Root, "README.md")
		require.NoError(t, err)
		require.NotEmpty(t, readme.Headings)
		var heading string
		for h := range m.ByDir[""].Headings {
			heading = h
		}
		require.NotEmpty(t, heading, "the root package's doc has headings")
		good := []string{
			"[a](../README.md)", "[b](../README.md#" + slug(readme.Headings[len(readme.Headings)-1]) + ")", "[c](#a-heading)",
			"[e](../examples/server)", "[f](https://example.com/anything)",
			"[Manager.Register](" + godoc + "#Manager.Register)", "[users.Settings](" + godoc + "#Settings)",
			"[webui.New](" + godoc + "/webui#New)", "[" + heading + "](" + godoc + "#" + headingAnchor(heading) + ")",
			"[the package](" + godoc + "/httpapi)", "[http.Handler](https://pkg.go.dev/net/http#Handler)",
		}
		bad := []string{
			"[a](missing.md)", "[b](../README.md#no-such-heading)", "[c](#nowhere)", "[d](../../outside.md)",
			"[Manager.Nope](" + godoc + "#Manager.Nope)", "[Manager.Login](" + godoc + "#Manager.Register)",
			"[x](" + godoc + "/nopkg)", "[y](" + godoc + "#hdr-No_Such_Heading)",
		}
		for _, l := range good {
			d := parseDoc("docs/fixture.md", "# A heading\n\n"+l+"\n")
			require.Len(t, d.Links, 1, l)
			assert.NoError(t, m.checkLink(d, d.Links[0]), l)
		}
		for _, l := range bad {
			d := parseDoc("docs/fixture.md", "# A heading\n\n"+l+"\n")
			require.Len(t, d.Links, 1, l)
			assert.Error(t, m.checkLink(d, d.Links[0]), l)
		}
		d := parseDoc("docs/fixture.md", "Not a link: `[a](missing.md)`.\n\n```\n[b](missing.md)\n```\n")
		assert.Empty(t, d.Links, "links in code are code")
	})

	t.Run("identifiers", func(t *testing.T) {
		t.Parallel()
		good := "`users.New` `*users.ValidationError` `users.Manager.Login` `httpapi.WithRateLimiter` `http.Handler`\n" +
			"See DefaultSettings; see Manager.Login.\n\n```go\nm, err := users.New(store, mailer)\nerr = m.Register(ctx, in)\n```\n"
		assert.Empty(t, m.docProblems(parseDoc("docs/fixture.md", good)))
		for _, bad := range []string{
			"`users.ParseRegisterJSON`", "`users.MemoryLimiter.Burst`", "`pgstore.Nope(ctx)`",
			"see ParseRegisterJSON for the wire form", "```go\nu, err := m.Nope(ctx)\n```",
		} {
			assert.Len(t, m.docProblems(parseDoc("docs/fixture.md", bad+"\n")), 1, bad)
		}
	})

	t.Run("commands", func(t *testing.T) {
		t.Parallel()
		for _, good := range []string{
			"go test ./...", "go run ./examples/quickstart", "go test -short ./store/...",
			"go test ./internal/doccheck -run 'TestGodocLinks|TestDocsLinks' -args -v", "CI=true go test -run '^$' -bench . ./...",
			"bash .ci/run", "go get github.com/gousers/users", "go run ./examples/server -h",
		} {
			assert.NoError(t, m.checkCommand(good), good)
		}
		for _, bad := range []string{
			"go test ./nope/...", "go run ./examples/nope", "go test ./internal/doccheck -run 'TestDocsLinks|TestNope'",
			"go test -bench BenchmarkNope .", "bash .ci/nope", "go get github.com/gousers/users/nope",
		} {
			assert.Error(t, m.checkCommand(bad), bad)
		}
	})

	t.Run("tables", func(t *testing.T) {
		t.Parallel()
		d := parseDoc("docs/fixture.md", "| package | what |\n|---|---|\n| [`users`](x) | a |\n| `users/webui` | b |\n\nafter\n")
		require.Len(t, d.Tables, 1)
		assert.Equal(t, []string{"package", "what"}, d.Tables[0].Header)
		assert.Equal(t, [][]string{{"[`users`](x)", "a"}, {"`users/webui`", "b"}}, d.Tables[0].Rows)
	})

	t.Run("anchors", func(t *testing.T) {
		t.Parallel()
		d := parseDoc("docs/fixture.md", "# The admin console (`webui`)\n## Run it, test it\n## Run it, test it\n### [Links](x) and *stress*\n")
		for _, a := range []string{"the-admin-console-webui", "run-it-test-it", "run-it-test-it-1", "links-and-stress"} {
			assert.True(t, d.Anchors[a], "#%s in %v", a, d.Anchors)
		}
	})
}
