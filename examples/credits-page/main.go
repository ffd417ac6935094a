// Command credits-page serves the reference Credits page (web/) on its own
// origin, as the SPA's dev server would: `go run ./examples/credits-page`
// next to `make run`, then open the printed address. The page calls the
// API on another origin, so the API must list this one in
// CORS_ALLOWED_ORIGINS (make run allows http://localhost:5173).
package main

import (
	"embed"
	"flag"
	"io/fs"
	"log"
	"net/http"
	"time"
)

//go:embed web
var web embed.FS

// handler serves the page's files (and nothing else of this directory).
func handler() http.Handler {
	files, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // web is embedded: it is there
	}
	return http.FileServerFS(files)
}

func main() {
	addr := flag.String("addr", "localhost:5173", "where to serve the page")
	api := flag.String("api", "http://localhost:8080", "the credits API the page opens with")
	flag.Parse()
	log.Printf("the Credits page: http://%s/?api=%s&token=<the owner token make run printed>", *addr, *api)
	srv := &http.Server{Addr: *addr, Handler: handler(), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
