// Package server is the HTTP surface: routing, bearer-token middleware, the
// GraphQL endpoint and playground, the router's /v1 surface, health and
// metrics. Handlers decode, make one call into billing and encode; they hold
// no money rule.
package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/graph"
	"github.com/airouter/credits/links"
	"github.com/airouter/credits/partitions"
	"github.com/airouter/credits/payments"
)

// Deps is what the server calls into.
type Deps struct {
	DB       *sql.DB
	Billing  *billing.Service
	Gate     *billing.Gate
	Tokens   *auth.Tokens
	Resolver *graph.Resolver
	Limits   graph.Limits
	// Links checks signed download links.
	Links *links.Signer
	// WebhookSecret verifies Stripe webhooks (STRIPE_WEBHOOK_SECRET).
	WebhookSecret string
	// Sandbox, when the sandbox provider is in use, enables the route that
	// plays the customer finishing 3-D Secure.
	Sandbox *payments.Sandbox
	Log     *slog.Logger
	// Registry receives the server's metrics; nil means a fresh one.
	Registry *prometheus.Registry
	// MutationsPerSecond and MutationBurst limit GraphQL mutations per
	// token (defaults 5/s, burst 20; negative rate: no limit).
	MutationsPerSecond float64
	MutationBurst      int
	// CORSAllowedOrigins are the browser origins allowed to call /graphql
	// and download documents (exact matches; none by default).
	CORSAllowedOrigins []string
	// BodyTimeout is how long a GraphQL request or webhook may take to
	// arrive, body included (default 10 s; authorize gets half, a usage
	// batch twice): a client trickling a body is dropped after it.
	BodyTimeout time.Duration
	// WorkingSet is the usage dedupe working set the last partition
	// maintenance measured, for /metrics (nil: no such gauges).
	WorkingSet func() partitions.WorkingSet
}

// Body size limits: GraphQL requests are small; usage batches carry up to
// billing's MaxBatch events of a few hundred bytes each.
const (
	maxGraphQLBody = 1 << 20
	maxUsageBody   = 4 << 20
	maxSmallBody   = 64 << 10
)

// Server routes HTTP requests.
type Server struct {
	deps    Deps
	metrics *metrics
	mux     *http.ServeMux
	router  *http.ServeMux // the router's surface alone (RouterAddr)
}

// New builds the routes.
func New(d Deps) *Server {
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.BodyTimeout <= 0 {
		d.BodyTimeout = 10 * time.Second
	}
	var usage usageStats
	if d.Billing != nil {
		usage = d.Billing
	}
	s := &Server{deps: d, metrics: newMetrics(d.Registry, usage, d.WorkingSet), mux: http.NewServeMux(), router: http.NewServeMux()}
	// The mutation limit lives in the GraphQL layer, where it sees every
	// transport (a WebSocket's mutations included).
	if d.MutationsPerSecond != 0 {
		d.Limits.MutationsPerSecond = d.MutationsPerSecond
	}
	if d.MutationBurst != 0 {
		d.Limits.MutationBurst = d.MutationBurst
	}
	gql := graph.NewHandler(d.Resolver, d.Limits, d.Tokens.Authenticate)
	play, playAssets := playgroundHandlers()

	s.mux.Handle("GET /{$}", play)
	s.mux.Handle("GET /playground", play)
	s.mux.Handle("GET /playground/assets/", playAssets)
	s.mux.Handle("/graphql", upgradeOrBodyDeadline(d.BodyTimeout, s.withCaller(limitBody(maxGraphQLBody, gql))))
	if d.Limits.Introspection {
		s.mux.HandleFunc("GET /graphql/schema.graphql", schemaFile(graph.SDL()))
	}
	s.mux.Handle("POST /stripe/webhook", bodyDeadline(d.BodyTimeout, http.HandlerFunc(s.stripeWebhook)))
	s.mux.Handle("GET /invoices/{file}", s.withCaller(http.HandlerFunc(s.invoicePDF)))
	s.mux.Handle("GET /credit-notes/{file}", s.withCaller(http.HandlerFunc(s.creditNotePDF)))
	if d.Sandbox != nil {
		s.mux.Handle("POST /sandbox/payment_intents/{id}/authenticate", s.withCaller(http.HandlerFunc(s.sandboxAuthenticate)))
	}
	// The router's surface and health answer on both listeners.
	for _, mux := range []*http.ServeMux{s.mux, s.router} {
		mux.Handle("POST /v1/authorize", bodyDeadline(d.BodyTimeout/2, s.service(limitBody(maxSmallBody, http.HandlerFunc(s.authorize)))))
		mux.Handle("POST /v1/usage", bodyDeadline(2*d.BodyTimeout, s.service(limitBody(maxUsageBody, http.HandlerFunc(s.usage)))))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		})
		mux.HandleFunc("GET /readyz", s.ready)
		mux.Handle("GET /metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	}
	return s
}

// Handler is the root handler, instrumented: every route.
func (s *Server) Handler() http.Handler {
	return s.metrics.instrument(withCORS(s.deps.CORSAllowedOrigins, s.mux))
}

// RouterHandler serves the router's surface alone (/v1/*, health,
// metrics), for a listener of its own.
func (s *Server) RouterHandler() http.Handler { return s.metrics.instrument(s.router) }

// schemaFile serves the printed SDL, for codegen tools to point at.
func schemaFile(sdl string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(w, sdl) //nolint:errcheck // the client went away
	}
}

// Mux lets later features add routes.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// withCaller attaches the caller of a valid bearer token. A request without
// one passes on anonymous: GraphQL answers UNAUTHENTICATED per field, which
// keeps introspection and the playground's schema fetch working.
func (s *Server) withCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := auth.FromHeader(r.Header.Get("Authorization"))
		if ok {
			c, err := s.deps.Tokens.Authenticate(r.Context(), raw)
			switch {
			case err == nil:
				r = r.WithContext(auth.WithCaller(r.Context(), c))
			case !errors.Is(err, auth.ErrUnauthenticated):
				s.deps.Log.Error("authenticate", "err", err)
				writeError(w, codeUnavailable, "try again")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// service admits only service tokens (the router).
func (s *Server) service(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := auth.FromHeader(r.Header.Get("Authorization"))
		if !ok {
			writeError(w, codeUnauthenticated, auth.ErrUnauthenticated.Error())
			return
		}
		c, err := s.deps.Tokens.Authenticate(r.Context(), raw)
		switch {
		case errors.Is(err, auth.ErrUnauthenticated):
			writeError(w, codeUnauthenticated, err.Error())
			return
		case err != nil:
			s.deps.Log.Error("authenticate", "err", err)
			writeError(w, codeUnavailable, "try again")
			return
		case c.Role != auth.RoleService:
			writeError(w, codeForbidden, "a service token is required")
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), c)))
	})
}

func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeError(w, codeTooLarge, "request body is too large")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.DB.PingContext(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
