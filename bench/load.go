package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// latencies collects request latencies from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// quantile returns the q-quantile in milliseconds.
func (l *latencies) quantile(q float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	i := int(q * float64(len(l.d)-1))
	return float64(l.d[i].Microseconds()) / 1000
}

func (h *harness) post(ctx context.Context, path, token string, body any) (int, []byte, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// IngestResult is one ingestion scenario.
type IngestResult struct {
	Workspaces     int     `json:"workspaces"`
	DeductionsPS   float64 `json:"deductions_per_s"`
	RequestsPS     float64 `json:"requests_per_s"`
	P50            float64 `json:"p50_ms"`
	P99            float64 `json:"p99_ms"`
	Errors         int64   `json:"errors"`
	EventsAccepted int64   `json:"events_accepted"`
}

var eventSeq atomic.Int64

// ingest posts batches of usage events from cfg.Clients closed-loop
// clients for cfg.Duration, spreading events over workspaces.
func (h *harness) ingest(ctx context.Context, workspaces []string) IngestResult {
	var accepted, errs, requests atomic.Int64
	lat := &latencies{}
	deadline := time.Now().Add(h.cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < h.cfg.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				events := make([]map[string]any, h.cfg.Batch)
				now := time.Now().UTC().Format(time.RFC3339Nano)
				for i := range events {
					n := eventSeq.Add(1)
					events[i] = map[string]any{"id": fmt.Sprint("bench-", n), "workspace_id": workspaces[int(n)%len(workspaces)],
						"model": "gpt-4o-mini", "input_tokens": 1000 + n%500, "output_tokens": 200 + n%100, "cached_input_tokens": 0,
						"traces": 0, "occurred_at": now}
				}
				t0 := time.Now()
				code, body, err := h.post(ctx, "/v1/usage", h.service, map[string]any{"events": events})
				lat.add(time.Since(t0))
				requests.Add(1)
				var res struct{ Accepted int64 }
				if err != nil || code != http.StatusOK || json.Unmarshal(body, &res) != nil {
					errs.Add(1)
					continue
				}
				accepted.Add(res.Accepted)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	return IngestResult{Workspaces: len(workspaces), DeductionsPS: float64(accepted.Load()) / elapsed,
		RequestsPS: float64(requests.Load()) / elapsed, P50: lat.quantile(0.50), P99: lat.quantile(0.99),
		Errors: errs.Load(), EventsAccepted: accepted.Load()}
}

// OpenLoopResult is a fixed offered load's outcome.
type OpenLoopResult struct {
	OfferedRPS  int     `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	P999        float64 `json:"p999_ms"`
	Errors      int64   `json:"errors"`
}

// openLoop sends requests on a fixed schedule regardless of answers and
// measures latency from each request's scheduled time, so a slow server
// cannot hide its queueing (no coordinated omission).
func (h *harness) openLoop(ctx context.Context, rps int, send func(ctx context.Context, i int) bool) OpenLoopResult {
	const senders = 64
	interval := time.Duration(float64(time.Second) * senders / float64(rps))
	lat := &latencies{}
	var done, errs atomic.Int64
	start := time.Now()
	deadline := start.Add(h.cfg.Duration)
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			next := start.Add(time.Duration(s) * interval / senders)
			for i := s; next.Before(deadline) && ctx.Err() == nil; i += senders {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				ok := send(ctx, i)
				lat.add(time.Since(next))
				done.Add(1)
				if !ok {
					errs.Add(1)
				}
				next = next.Add(interval)
			}
		}(s)
	}
	wg.Wait()
	return OpenLoopResult{OfferedRPS: rps, AchievedRPS: float64(done.Load()) / time.Since(start).Seconds(),
		P50: lat.quantile(0.5), P99: lat.quantile(0.99), P999: lat.quantile(0.999), Errors: errs.Load()}
}

// authorize measures /v1/authorize over the 100 workspaces while a
// background client keeps charging usage to them.
func (h *harness) authorize(ctx context.Context) OpenLoopResult {
	bg, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for n := 0; bg.Err() == nil; n++ {
			events := make([]map[string]any, 10)
			for i := range events {
				events[i] = map[string]any{"id": fmt.Sprint("auth-bg-", n, "-", i), "workspace_id": h.hundred[(n*10+i)%len(h.hundred)],
					"model": "gpt-4o-mini", "input_tokens": 100, "output_tokens": 10, "occurred_at": time.Now().UTC().Format(time.RFC3339Nano)}
			}
			h.post(bg, "/v1/usage", h.service, map[string]any{"events": events}) //nolint:errcheck // background churn
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return h.openLoop(ctx, h.cfg.AuthorizeRPS, func(ctx context.Context, i int) bool {
		code, _, err := h.post(ctx, "/v1/authorize", h.service, map[string]string{"workspace_id": h.hundred[i%len(h.hundred)]})
		return err == nil && code == http.StatusOK
	})
}

// balance measures the GraphQL balance query.
func (h *harness) balance(ctx context.Context) OpenLoopResult {
	query := map[string]any{"query": "{ balance { amount blocked } }"}
	return h.openLoop(ctx, h.cfg.BalanceRPS, func(ctx context.Context, _ int) bool {
		code, body, err := h.post(ctx, "/graphql", h.owner, query)
		return err == nil && code == http.StatusOK && bytes.Contains(body, []byte(`"amount"`))
	})
}
