package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer answers every request with {"allowed":true} and counts the
// connections it accepted; hang, when set, is asked per request whether to
// leave it unanswered until the test ends.
func countingServer(t *testing.T, hang func() bool) (addr string, conns *atomic.Int64) {
	conns = &atomic.Int64{}
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang != nil && hang() {
			<-release
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"allowed":true}`)) //nolint:errcheck // the generator checks what arrives
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.Listener.Addr().String(), conns
}

func plainTarget(addr string) loadTarget {
	req := request(addr, "/v1/authorize", "token", []byte(`{}`))
	return loadTarget{pid: os.Getpid(), addr: addr, request: func(int64) []byte { return req }, check: expect(addr, `"allowed":true`)}
}

// Measured side by side, two targets take turns in slices, each round in
// the other order, on connections kept from slice to slice; each result
// counts its own slices only, and a target's during hook brackets exactly
// its own slices.
func TestOpenLoops_AlternateInSlicesOnTheSameConnections(t *testing.T) {
	const rps = 1000
	h := &harness{cfg: Config{Duration: 3 * time.Second, Warmup: 200 * time.Millisecond}}
	addrA, connsA := countingServer(t, nil)
	addrB, connsB := countingServer(t, nil)

	var mu sync.Mutex
	var turns []string // "A+", "A-", ... in order
	var inside atomic.Int32
	hook := func(name string) func(bool) {
		return func(on bool) {
			mu.Lock()
			defer mu.Unlock()
			if on {
				turns = append(turns, name+"+")
				if inside.Add(1) != 1 {
					t.Errorf("%s began inside another target's slice", name)
				}
			} else {
				turns = append(turns, name+"-")
				inside.Add(-1)
			}
		}
	}
	a, b := plainTarget(addrA), plainTarget(addrB)
	a.during, b.during = hook("A"), hook("B")
	res := h.openLoops(context.Background(), rps, a, b)

	// Warm-up A, B; then rounds A B, B A, A B (3 s in 1 s slices).
	want := []string{"A+", "A-", "B+", "B-", "A+", "A-", "B+", "B-", "B+", "B-", "A+", "A-", "A+", "A-", "B+", "B-"}
	if !slices.Equal(turns, want) {
		t.Errorf("turns %v, want %v", turns, want)
	}
	for i, r := range res {
		// The warm-up's 200 requests are not counted.
		if r.Sent != 3*rps || r.OK != r.Sent || r.Errors != 0 || r.P99 <= 0 || r.AchievedRPS <= 0 || r.Seconds < 3 {
			t.Errorf("target %d: %+v", i, r)
		}
	}
	for name, n := range map[string]int64{"A": connsA.Load(), "B": connsB.Load()} {
		if n != openLoopConns {
			t.Errorf("server %s accepted %d connections, want the pool's %d once", name, n, openLoopConns)
		}
	}
}

// A request the server never answers ends its slice 10 s after the last
// send as one error; its connection is replaced, and the next slice does
// not take that request's late answer (or its silence) as its own.
func TestOpenLoops_AnUnansweredRequestIsOneErrorAndItsConnectionIsReplaced(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 10 s drain")
	}
	const rps = 200
	var n atomic.Int64
	addr, conns := countingServer(t, func() bool { return n.Add(1) == 50 })
	target := plainTarget(addr)
	l := newLoopTarget(target.addr, target.request, target.check)
	defer l.close()

	l.run(context.Background(), rps, time.Second)
	first := l.result(rps)
	if first.Sent != rps || first.Errors != 1 || first.OK != rps-1 {
		t.Fatalf("first slice: %+v", first)
	}
	l.run(context.Background(), rps, time.Second)
	both := l.result(rps)
	if both.Sent != 2*rps || both.Errors != 1 || both.OK != 2*rps-1 {
		t.Fatalf("after the second slice: %+v", both)
	}
	if got := conns.Load(); got != openLoopConns+1 {
		t.Errorf("%d connections, want the pool's %d and one replacement", got, openLoopConns)
	}
}

// An operator's interrupt (ctx cancelled) mid-measurement ends the
// side-by-side loop at once: no slice starts after it, what was sent is
// answered and counted, and nothing counts as an error.
func TestOpenLoops_StopsWhenInterrupted(t *testing.T) {
	const rps = 1000
	h := &harness{cfg: Config{Duration: time.Minute}}
	addrA, _ := countingServer(t, nil)
	addrB, _ := countingServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	a, b := plainTarget(addrA), plainTarget(addrB)
	var aSlices atomic.Int32
	a.during = func(on bool) {
		if on && aSlices.Add(1) == 2 { // a's second slice: two rounds in
			time.AfterFunc(300*time.Millisecond, cancel)
		}
	}
	done := make(chan []OpenLoopResult, 1)
	go func() { done <- h.openLoops(ctx, rps, a, b) }()
	var res []OpenLoopResult
	select {
	case res = <-done:
	case <-time.After(30 * time.Second): // half the measurement: it did not stop
		t.Fatal("still measuring 30 s after the interrupt")
	}
	if n := aSlices.Load(); n != 2 {
		t.Errorf("a ran %d slices, want 2 (none after the interrupt)", n)
	}
	for i, r := range res {
		if r.Sent == 0 || r.Sent >= 60*rps || r.OK != r.Sent || r.Errors != 0 {
			t.Errorf("target %d: %+v", i, r)
		}
	}
}
