package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// openLoopWorkers is how many requests the open loop keeps in flight at
// most, one connection each, like a router instance's connection pool.
const openLoopWorkers = 128

// OpenLoopResult is the outcome of a fixed offered load.
type OpenLoopResult struct {
	OfferedRPS  int     `json:"offered_rps"`
	Seconds     float64 `json:"seconds"`
	Sent        int64   `json:"sent"`
	OK          int64   `json:"ok"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	AchievedRPS float64 `json:"achieved_rps"` // successful answers per second
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	P999        float64 `json:"p999_ms"`
}

// openLoop sends request i at start + i/rps whatever happened to earlier
// ones: a scheduler queues each request at its time and a fixed pool of
// workers (one connection each) sends them. Latency counts from the
// scheduled time, so when the server (or the client) falls behind, the
// queueing shows in the figures instead of slowing the offered load down
// (no coordinated omission).
func openLoop(ctx context.Context, rps int, d time.Duration, send func(ctx context.Context, i int64) error) OpenLoopResult {
	total := int64(d) * int64(rps) / int64(time.Second)
	type job struct {
		i  int64
		at time.Time
	}
	queue := make(chan job, total) // never blocks the scheduler
	lat := &recorder{d: make([]time.Duration, 0, total)}
	var ok atomic.Int64
	var errs errorLog
	var wg sync.WaitGroup
	for range openLoopWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				err := send(ctx, j.i)
				lat.add(time.Since(j.at))
				if err != nil {
					errs.add(err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	start := time.Now()
	var sent int64
	for ; sent < total && ctx.Err() == nil; sent++ {
		at := start.Add(time.Duration(sent * int64(time.Second) / int64(rps)))
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		queue <- job{sent, at}
	}
	close(queue)
	wg.Wait()
	// The last answers may land after d; a run that kept up counts d.
	elapsed := max(time.Since(start), d).Seconds()
	q := lat.quantiles(0.50, 0.99, 0.999)
	return OpenLoopResult{OfferedRPS: rps, Seconds: elapsed, Sent: sent, OK: ok.Load(), Errors: errs.n.Load(), FirstError: errs.first,
		AchievedRPS: float64(ok.Load()) / elapsed, P50: q[0], P99: q[1], P999: q[2]}
}

// openLoop first runs the load unrecorded for cfg.Warmup, so first-contact
// costs (connections, the server's token and balance caches, heap growth)
// do not count as steady-state latency, then measures it for cfg.Duration.
func (h *harness) openLoop(ctx context.Context, rps int, send func(ctx context.Context, i int64) error) OpenLoopResult {
	if h.cfg.Warmup > 0 {
		openLoop(ctx, rps, h.cfg.Warmup, send)
	}
	return openLoop(ctx, rps, h.cfg.Duration, send)
}

// AuthorizeResult is the authorize scenario: the open loop plus the usage
// charged underneath it.
type AuthorizeResult struct {
	OpenLoopResult
	ChurnEvents int64 `json:"churn_events_accepted"`
	ChurnErrors int64 `json:"churn_errors"`
}

// authorize offers cfg.AuthorizeRPS plain authorize calls over the 100
// workspaces while a background client keeps charging small usage
// batches to them, so balances (and the in-memory gate) change underneath.
func (h *harness) authorize(ctx context.Context) AuthorizeResult {
	bodies := make([][]byte, len(h.hundred))
	for i, ws := range h.hundred {
		bodies[i], _ = json.Marshal(map[string]string{"workspace_id": ws})
	}
	stop := make(chan struct{})
	var churnEvents, churnErrs atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := int64(0); ; seq += 10 {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ans, err := h.sendUsage(ctx, usageBody("auth-churn", seq, 10, h.hundred))
			if err != nil {
				churnErrs.Add(1)
				continue
			}
			churnEvents.Add(ans.Accepted)
		}
	}()
	res := h.openLoop(ctx, h.cfg.AuthorizeRPS, func(ctx context.Context, i int64) error {
		code, body, err := h.post(ctx, "/v1/authorize", h.service, bodies[i%int64(len(bodies))])
		switch {
		case err != nil:
			return err
		case code != http.StatusOK || !bytes.Contains(body, []byte(`"allowed":true`)):
			return fmt.Errorf("POST /v1/authorize: %d %s", code, bytes.TrimSpace(body))
		}
		return nil
	})
	// Let the last churn batch finish (not cancel it), so the invariant
	// check sees a quiet database.
	close(stop)
	wg.Wait()
	return AuthorizeResult{OpenLoopResult: res, ChurnEvents: churnEvents.Load(), ChurnErrors: churnErrs.Load()}
}

// balance offers cfg.BalanceRPS GraphQL balance queries as the hot
// workspace's owner.
func (h *harness) balance(ctx context.Context) OpenLoopResult {
	query, _ := json.Marshal(map[string]string{"query": "{ balance { amount blocked } }"})
	return h.openLoop(ctx, h.cfg.BalanceRPS, func(ctx context.Context, _ int64) error {
		code, body, err := h.post(ctx, "/graphql", h.owner, query)
		switch {
		case err != nil:
			return err
		case code != http.StatusOK || !bytes.Contains(body, []byte(`"amount"`)) || bytes.Contains(body, []byte(`"errors"`)):
			return fmt.Errorf("POST /graphql: %d %s", code, bytes.TrimSpace(body))
		}
		return nil
	})
}
