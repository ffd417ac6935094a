// Command floorserver is the load harness's floor: a net/http server that
// answers every POST with a fixed authorize-sized 200 and does nothing
// else. The harness offers it the same open loop as /v1/authorize, so the
// difference between the two is the credits server's own cost, and what
// remains in the floor is the load generator, the kernel and net/http.
//
//	floorserver 127.0.0.1:8099
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

var answer = []byte(`{"allowed":true,"balance":"999.999000000"}` + "\n")

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floorserver ADDR")
		os.Exit(2)
	}
	contentType := []string{"application/json"}
	srv := &http.Server{Addr: os.Args[1], ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // the answer is the same either way
		w.Header()["Content-Type"] = contentType
		w.Write(answer) //nolint:errcheck // the client went away
	})}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "floorserver:", err)
		os.Exit(1)
	}
}
