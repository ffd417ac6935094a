package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airouter/credits/partitions"
)

// recorder collects latencies from many goroutines.
type recorder struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
}

// grow makes room for n more latencies, so a measurement does not pay
// for growing the slice as it goes.
func (r *recorder) grow(n int) {
	r.mu.Lock()
	r.d = slices.Grow(r.d, n)
	r.mu.Unlock()
}

// quantiles sorts once and returns each q-quantile in milliseconds
// (nearest rank).
func (r *recorder) quantiles(qs ...float64) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(r.d)
	out := make([]float64, len(qs))
	for i, q := range qs {
		if len(r.d) > 0 {
			k := min(len(r.d)-1, int(q*float64(len(r.d))))
			out[i] = float64(r.d[k]) / float64(time.Millisecond)
		}
	}
	return out
}

// post sends one JSON body with a bearer token; it returns the status and body.
func (h *harness) post(ctx context.Context, path, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+path, bytes.NewReader(body))
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

// usageEvent is one event of POST /v1/usage.
type usageEvent struct {
	ID                string `json:"id"`
	WorkspaceID       string `json:"workspace_id"`
	Model             string `json:"model"`
	InputTokens       int64  `json:"input_tokens"`
	OutputTokens      int64  `json:"output_tokens"`
	CachedInputTokens int64  `json:"cached_input_tokens"`
	Traces            int64  `json:"traces"`
	OccurredAt        string `json:"occurred_at"`
}

type usageAnswer struct {
	Accepted   int64             `json:"accepted"`
	Duplicates int64             `json:"duplicates"`
	Rejected   []json.RawMessage `json:"rejected"`
}

// usageBody is a batch of n fresh events spread round-robin over
// workspaces from the sequence number seq on. Ids are unique per run and
// scattered like a router's random ids: the sequence number times an odd
// constant (a bijection on 64 bits), in hex.
func usageBody(prefix string, seq int64, n int, workspaces []string) []byte {
	now := time.Now().UTC().Format(time.RFC3339)
	events := make([]usageEvent, n)
	for i := range events {
		k := seq + int64(i)
		events[i] = usageEvent{ID: fmt.Sprintf("%s-%016x", prefix, uint64(k)*0x9E3779B97F4A7C15), WorkspaceID: workspaces[k%int64(len(workspaces))],
			Model: "gpt-4o-mini", InputTokens: 1000 + k%500, OutputTokens: 200 + k%100, OccurredAt: now}
	}
	b, err := json.Marshal(map[string][]usageEvent{"events": events})
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return b
}

// sendUsage posts one batch and decodes the answer; any status but 200 is an error.
func (h *harness) sendUsage(ctx context.Context, body []byte) (usageAnswer, error) {
	code, resp, err := h.post(ctx, "/v1/usage", h.service, body)
	if err != nil {
		return usageAnswer{}, err
	}
	var ans usageAnswer
	if code != http.StatusOK {
		return ans, fmt.Errorf("POST /v1/usage: %d %s", code, bytes.TrimSpace(resp))
	}
	if err := json.Unmarshal(resp, &ans); err != nil {
		return ans, fmt.Errorf("POST /v1/usage: %v in %q", err, resp)
	}
	return ans, nil
}

// IngestResult is one ingestion scenario.
type IngestResult struct {
	Scenario       string  `json:"scenario"`
	Round          int     `json:"round,omitempty"` // of a growth run's pairs, from 1
	Workspaces     int     `json:"workspaces"`
	Seconds        float64 `json:"seconds"`
	Requests       int64   `json:"requests"`
	EventsAccepted int64   `json:"events_accepted"`
	EventsRejected int64   `json:"events_rejected"`
	Errors         int64   `json:"errors"` // failed requests (transport or non-200)
	FirstError     string  `json:"first_error,omitempty"`
	DeductionsPS   float64 `json:"deductions_per_s"` // committed (accepted) events per second
	RequestsPS     float64 `json:"requests_per_s"`
	P50            float64 `json:"p50_ms"`
	P99            float64 `json:"p99_ms"`
	// SettleLagMax is the longest the server's deferred usage waited to
	// reach balances (credits_usage_settle_lag_seconds, sampled), seconds.
	SettleLagMax float64 `json:"settle_lag_max_s,omitempty"`
	// Background is Postgres's own work that ended during the pass (nil
	// if it could not be read).
	Background *Background `json:"background,omitempty"`
	// DedupeIndexBytes is this week's key plus last week's lookup index
	// when the pass started (partitions.DedupeWorkingSet): what each
	// event's insert and lookup read at random, which shared_buffers holds
	// or not.
	DedupeIndexBytes int64 `json:"dedupe_index_bytes_at_start,omitempty"`
}

// errorLog counts failures and keeps the first one's text for the report.
type errorLog struct {
	n     atomic.Int64
	once  sync.Once
	first string
}

func (e *errorLog) add(err error) {
	e.n.Add(1)
	e.once.Do(func() { e.first = err.Error() })
}

// ingest runs cfg.Clients closed-loop clients for cfg.Duration, each
// posting batches of fresh events spread over workspaces; only events the
// server answered as accepted (so committed) count as deductions.
func (h *harness) ingest(ctx context.Context, scenario string, workspaces []string) IngestResult {
	var accepted, rejected, requests, seq atomic.Int64
	var errs errorLog
	lat := &recorder{}
	batch := h.cfg.Batch
	dedupe, dedupeErr := partitions.DedupeWorkingSet(ctx, h.db, time.Now())
	before, bgErr := h.background(ctx)
	start := time.Now()
	deadline := start.Add(h.cfg.Duration)
	lagCtx, stopLag := context.WithCancel(ctx)
	lagMax := make(chan float64, 1)
	go func() { lagMax <- h.sampleSettleLag(lagCtx) }()
	running := make(chan []Seen, 1)
	go func() { running <- h.watch(lagCtx, time.Second) }()
	var wg sync.WaitGroup
	for range h.cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				body := usageBody(scenario, seq.Add(int64(batch))-int64(batch), batch, workspaces)
				t0 := time.Now()
				ans, err := h.sendUsage(ctx, body)
				lat.add(time.Since(t0))
				requests.Add(1)
				if err != nil {
					errs.add(err)
					continue
				}
				accepted.Add(ans.Accepted)
				rejected.Add(int64(len(ans.Rejected)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	stopLag()
	q := lat.quantiles(0.50, 0.99)
	res := IngestResult{Scenario: scenario, Workspaces: len(workspaces), Seconds: elapsed, Requests: requests.Load(),
		EventsAccepted: accepted.Load(), EventsRejected: rejected.Load(), Errors: errs.n.Load(), FirstError: errs.first,
		DeductionsPS: float64(accepted.Load()) / elapsed, RequestsPS: float64(requests.Load()) / elapsed, P50: q[0], P99: q[1],
		SettleLagMax: <-lagMax}
	seen := <-running
	if after, err := h.background(ctx); err == nil && bgErr == nil {
		res.Background = after.since(before, seen)
	}
	if dedupeErr == nil {
		res.DedupeIndexBytes = dedupe.Bytes()
	}
	return res
}

// sampleSettleLag reads the server's settlement lag every 200 ms until ctx
// ends and returns the largest seen (each settlement sets it: how long its
// oldest deferred batch waited).
func (h *harness) sampleSettleLag(ctx context.Context) float64 {
	var most float64
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return most
		case <-t.C:
		}
		if f, ok := h.metric(ctx, "credits_usage_settle_lag_seconds"); ok && f > most {
			most = f
		}
	}
}
