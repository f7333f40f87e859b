// Package consoleassets embeds the admin console's static files (the
// vendored chart library, the dashboard's script and styles) and serves
// them from Gatehouse's own origin, so the console's pages load nothing
// from anywhere else and keep a strict Content-Security-Policy.
package consoleassets

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var files embed.FS

// Prefix is the URL path the assets are served under.
const Prefix = "/admin/charts/"

// FS answers the assets, rooted at the assets folder.
func FS() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil { // the embedded folder exists: a build without it fails
		panic(err)
	}
	return sub
}

// Handler serves the assets under Prefix: GET and HEAD only, no directory
// listings, cached for an hour, typed with nosniff.
func Handler() http.Handler {
	fsrv := http.StripPrefix(Prefix, http.FileServerFS(FS()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

// Scripts and Styles are the assets' URL paths a page using the charts
// links, in order.
var (
	Scripts = []string{Prefix + "vendor/uplot/uPlot.iife.min.js", Prefix + "dashboard.js"}
	Styles  = []string{Prefix + "vendor/uplot/uPlot.min.css", Prefix + "dashboard.css"}
)
