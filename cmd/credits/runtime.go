package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"
)

// Garbage-collector defaults for serve, used when GOGC and GOMEMLIMIT are
// not set. The hot paths allocate a few KiB per request over a live heap of
// a few MiB, so at Go's default (GOGC=100) a collection runs several times
// a second at 10,000 rps and its pauses and CPU show in the router's p99
// (bench: -server-env GOGC=100 doubled authorize p99). Collecting at 5× the
// live heap instead, with a soft ceiling, keeps the peak well under the
// 150 MB budget.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 128 << 20 // bytes
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// serveDebug serves net/http/pprof on addr (DEBUG_ADDR) for profiling a
// running server. Off by default; bind it to a private address: profiles
// show internals, though no secrets (tokens are hashed before they are
// kept, card data is never held).
func serveDebug(addr string, log *slog.Logger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		log.Info("debug server (pprof)", "addr", addr)
		if err := srv.ListenAndServe(); err != nil {
			log.Error("debug server", "err", err)
		}
	}()
}
