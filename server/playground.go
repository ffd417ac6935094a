package server

import (
	"embed"
	"io/fs"
	"net/http"
)

// The playground is GraphiQL 4.1.2 with React 18.2.0, vendored from npm
// (MIT licensed, see playground/assets/LICENSE.*), so it needs no CDN.
//
//go:embed playground
var playgroundFiles embed.FS

func playgroundHandlers() (page, assets http.Handler) {
	index, err := playgroundFiles.ReadFile("playground/index.html")
	if err != nil {
		panic(err) // embedded at build time
	}
	page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(index) //nolint:errcheck // the client went away
	})
	sub, err := fs.Sub(playgroundFiles, "playground/assets")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/playground/assets/", http.FileServer(http.FS(sub)))
	assets = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
	return page, assets
}
