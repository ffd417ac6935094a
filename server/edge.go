package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/rs/cors"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"
)

// EdgeConfig is how the process meets the network: listeners, connection
// caps and timeouts (README, "Configuration").
type EdgeConfig struct {
	// Addr serves every route (ADDR).
	Addr string
	// RouterAddr, when set, is a second listener for the router's surface
	// only (/v1/*, health, metrics) with its own connection cap, so clients
	// of the public API, slow or many, can never take the router's
	// connections (ROUTER_ADDR).
	RouterAddr string
	// MaxConnections caps open connections per listener (MAX_CONNECTIONS,
	// ROUTER_MAX_CONNECTIONS); past it the listener stops accepting until
	// one closes, so the process never runs out of file descriptors (the
	// database pool and the router's listener need theirs). Zero: half the
	// process's open-file limit, at most 4096, and an eighth (at most 1024)
	// for the router's listener.
	MaxConnections       int
	RouterMaxConnections int
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout bound a slow or idle
	// client (HTTP_READ_TIMEOUT, HTTP_IDLE_TIMEOUT). Each route may allow
	// its body less time (see bodyDeadline); WebSockets are exempt once
	// upgraded.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
}

// DefaultEdge is the configuration with nothing set.
var DefaultEdge = EdgeConfig{Addr: ":8080",
	ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}

// openFileLimit is the process's soft RLIMIT_NOFILE (Go raises it to the
// hard limit at start-up).
func openFileLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<20 {
		return 1 << 20
	}
	return int(r.Cur)
}

func (c EdgeConfig) withDefaults() EdgeConfig {
	d := DefaultEdge
	nofile := openFileLimit()
	d.MaxConnections = max(64, min(4096, nofile/2))
	d.RouterMaxConnections = max(16, min(1024, nofile/8))
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = d.MaxConnections
	}
	if c.RouterMaxConnections <= 0 {
		c.RouterMaxConnections = d.RouterMaxConnections
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	return c
}

// Edge is the running HTTP servers: the public one and, optionally, the
// router's.
type Edge struct {
	servers   []*http.Server
	listeners []net.Listener
}

// Listen opens the listeners (capped) and builds their servers; Serve
// starts serving.
func (s *Server) Listen(cfg EdgeConfig) (*Edge, error) {
	cfg = cfg.withDefaults()
	e := &Edge{}
	add := func(addr string, max int, h http.Handler) error {
		l, err := Listen(addr, max)
		if err != nil {
			e.closeListeners()
			return err
		}
		e.listeners = append(e.listeners, l)
		e.servers = append(e.servers, newHTTPServer(cfg, h))
		return nil
	}
	if err := add(cfg.Addr, cfg.MaxConnections, s.Handler()); err != nil {
		return nil, err
	}
	if cfg.RouterAddr != "" {
		if err := add(cfg.RouterAddr, cfg.RouterMaxConnections, s.RouterHandler()); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Listen opens a TCP listener that holds at most max connections open.
func Listen(addr string, max int) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return netutil.LimitListener(l, max), nil
}

// HTTPServer is the http.Server every listener uses (timeouts set; no
// listener of its own).
func HTTPServer(cfg EdgeConfig, h http.Handler) *http.Server {
	return newHTTPServer(cfg.withDefaults(), h)
}

func newHTTPServer(cfg EdgeConfig, h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: 64 << 10}
}

// Addrs are the listeners' addresses, public first.
func (e *Edge) Addrs() []net.Addr {
	out := make([]net.Addr, len(e.listeners))
	for i, l := range e.listeners {
		out[i] = l.Addr()
	}
	return out
}

// Serve serves until Shutdown; it returns the first server's error other
// than http.ErrServerClosed.
func (e *Edge) Serve() error {
	var g errgroup.Group
	for i := range e.servers {
		srv, l := e.servers[i], e.listeners[i]
		g.Go(func() error {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	return g.Wait()
}

// Shutdown stops accepting and waits for requests in flight (see
// http.Server.Shutdown).
func (e *Edge) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range e.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

func (e *Edge) closeListeners() {
	for _, l := range e.listeners {
		l.Close()
	}
}

// bodyDeadline gives a route's request, body included, at most d to
// arrive: a client trickling a body holds a connection (and a descriptor)
// no longer than that.
func bodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(d)) //nolint:errcheck // not every writer supports it (tests)
		next.ServeHTTP(w, r)
	})
}

// upgradeOrBodyDeadline is bodyDeadline for GraphQL over HTTP, and no
// deadline at all for a WebSocket (which lives for hours; its pings and
// token re-checks bound it instead).
func upgradeOrBodyDeadline(d time.Duration, next http.Handler) http.Handler {
	limited := bodyDeadline(d, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			http.NewResponseController(w).SetReadDeadline(time.Time{}) //nolint:errcheck // see bodyDeadline
			next.ServeHTTP(w, r)
			return
		}
		limited.ServeHTTP(w, r)
	})
}

// withCORS lets browser apps on the configured origins (exact matches,
// CORS_ALLOWED_ORIGINS) call the GraphQL endpoint, fetch the schema and
// download documents. Tokens travel in the Authorization header, never in
// cookies, so credentials are not allowed; unknown origins get no CORS
// headers at all.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept"},
		ExposedHeaders: []string{"Retry-After", "Content-Disposition"},
		MaxAge:         600,
	})
	withHeaders := c.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if corsRoute(r.URL.Path) {
			withHeaders.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// corsRoute: the routes a browser app calls. /sandbox/ is the sandbox's
// 3-D Secure step (registered only with the sandbox provider), which a
// page on another origin calls in place of Stripe.js.
func corsRoute(path string) bool {
	return path == "/graphql" || strings.HasPrefix(path, "/graphql/") ||
		strings.HasPrefix(path, "/invoices/") || strings.HasPrefix(path, "/credit-notes/") ||
		strings.HasPrefix(path, "/sandbox/")
}
