// Package graphiql serves GraphiQL, the in-browser GraphQL IDE, entirely
// from files embedded in the binary: the page works without network access
// (no CDN), and it sends the API key it keeps in the browser with every
// request. The third-party files in third_party/ are vendored by vendor.sh.
package graphiql

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

// AssetPath is the URL path under which Assets serves the vendored files;
// the page loads them from there.
const AssetPath = "/graphiql/assets/"

//go:embed page.html
var pageHTML string

//go:embed third_party
var thirdParty embed.FS

var page = template.Must(template.New("graphiql").Parse(pageHTML))

// Config is what the page needs to know about the server.
type Config struct {
	// Endpoint is the path of the GraphQL endpoint, for HTTP and websocket.
	Endpoint string
	// DevKeyLink lets a link's fragment #apiKey=<key> give the page its
	// key. Only a development server sets it: elsewhere a link should not
	// be able to plant a key (and the workspace it opens) in a browser.
	DevKeyLink bool
}

// Page returns the handler of the GraphiQL page. The page is rendered once:
// it depends on cfg only.
func Page(cfg Config) http.Handler {
	var b bytes.Buffer
	err := page.Execute(&b, struct {
		Config
		Assets string
	}{cfg, AssetPath})
	if err != nil {
		panic("graphiql: page template: " + err.Error()) // a bug of page.html, caught by the tests
	}
	body := b.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(body)
	})
}

// Assets returns the handler of the vendored files, to mount at AssetPath.
// Their paths name the package versions, so browsers may keep them.
func Assets() http.Handler {
	files, err := fs.Sub(thirdParty, "third_party")
	if err != nil {
		panic("graphiql: " + err.Error())
	}
	fileServer := http.StripPrefix(AssetPath, http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		fileServer.ServeHTTP(w, r)
	})
}
