package server

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/airouter/credits/partitions"
)

type metrics struct {
	requests  *prometheus.HistogramVec
	authorize *prometheus.CounterVec
	usage     *prometheus.CounterVec
	webhooks  *prometheus.CounterVec

	// The authorize decisions, resolved once: the router's hot path should
	// not hash label values per call.
	authorizeAllowed, authorizeBlocked, authorizeHeld prometheus.Counter
	// observers caches requests' histogram per route and status.
	observers sync.Map // routeStatus → prometheus.Observer
}

type routeStatus struct {
	route  string
	status int
}

// usageStats are the billing service's ingestion counters.
type usageStats interface {
	UsageRedos() int64
	UsageSettled() int64
	UsageSettleLag() time.Duration
	UsageFilterEvents() int64
	UsageFilterWeek() time.Time
	UsageLookupsFiltered() int64
}

// newMetrics registers the server's metrics on reg, with the billing
// service's ingestion counters when usage is not nil and the usage dedupe
// working set when workingSet is not nil.
func newMetrics(reg *prometheus.Registry, usage usageStats, workingSet func() partitions.WorkingSet) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "credits_http_request_duration_seconds", Help: "HTTP requests by route pattern and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "status"}),
		authorize: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credits_authorize_total", Help: "Authorize decisions.",
		}, []string{"decision"}),
		usage: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credits_usage_events_total", Help: "Usage events by outcome.",
		}, []string{"outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credits_stripe_webhooks_total", Help: "Stripe webhook events by outcome.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.requests, m.authorize, m.usage, m.webhooks, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if usage != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "credits_usage_redos_total",
			Help: "Usage transactions made again because the insert refused an event its week already held (a retried event).",
		}, func() float64 { return float64(usage.UsageRedos()) }), prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "credits_usage_settled_batches_total",
			Help: "Deferred usage batches (spread over many workspaces) this instance settled into balances.",
		}, func() float64 { return float64(usage.UsageSettled()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "credits_usage_settle_lag_seconds",
			Help: "How long the oldest batch of this instance's last settlement waited to reach balances.",
		}, func() float64 { return usage.UsageSettleLag().Seconds() }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "credits_usage_dedupe_filter_events",
			Help: "Events of last week in this instance's dedupe filter, 0 while none is built or trusted (billing/weekfilter.go).",
		}, func() float64 { return float64(usage.UsageFilterEvents()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "credits_usage_dedupe_filter_week_start_seconds",
			Help: "Unix time of the Monday whose events this instance's dedupe filter holds, 0 while none is built or trusted.",
		}, func() float64 {
			if w := usage.UsageFilterWeek(); !w.IsZero() {
				return float64(w.Unix())
			}
			return 0
		}), prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "credits_usage_lookups_filtered_total",
			Help: "Duplicate lookups of last week the dedupe filter made unnecessary (each would have probed Postgres).",
		}, func() float64 { return float64(usage.UsageLookupsFiltered()) }))
	}
	if workingSet != nil {
		// Both 0 until the first maintenance run has measured them.
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "credits_usage_dedupe_index_bytes",
			Help: "This week's usage_events key plus last week's lookup index, which every ingested event reads, as of the last partition maintenance; " +
				"keep under half of credits_postgres_shared_buffers_bytes or ingestion slows as the week grows.",
		}, func() float64 { return float64(workingSet().Bytes()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "credits_postgres_shared_buffers_bytes",
			Help: "Postgres's shared_buffers, as of the last partition maintenance; credits_usage_dedupe_index_bytes should stay under half of it.",
		}, func() float64 { return float64(workingSet().SharedBuffers) }))
	}
	m.authorizeAllowed = m.authorize.WithLabelValues("allowed")
	m.authorizeBlocked = m.authorize.WithLabelValues("blocked")
	m.authorizeHeld = m.authorize.WithLabelValues("held")
	return m
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController and the WebSocket upgrade reach the
// underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack hands the connection over for a WebSocket upgrade.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.observer(route, rec.status).Observe(time.Since(start).Seconds())
	})
}

// observer is the request histogram of a route and status. Routes are the
// mux's patterns and statuses are few, so the cache stays small.
func (m *metrics) observer(route string, status int) prometheus.Observer {
	key := routeStatus{route, status}
	if o, ok := m.observers.Load(key); ok {
		return o.(prometheus.Observer)
	}
	o := m.requests.WithLabelValues(route, strconv.Itoa(status))
	m.observers.Store(key, o)
	return o
}
