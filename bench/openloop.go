package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// openLoopConns is how many requests the open loop keeps in flight at
// most, one connection each, like a router instance's connection pool. At
// 10,000 rps and sub-millisecond answers about two are in flight; 32
// leaves room for bursts, and when all are busy the wait shows as latency.
const openLoopConns = 32

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
	// LagP99 is how late the generator itself put requests in the queue
	// (p99, ms): its own scheduling error, included in the latencies.
	LagP99 float64 `json:"dispatch_lag_p99_ms"`
	// CPU time per request (user + system, µs) of the server process and of
	// the generator (this process) over the measurement.
	ServerCPUus    float64 `json:"server_cpu_us_per_request"`
	GeneratorCPUus float64 `json:"generator_cpu_us_per_request"`
}

// loadSlice is how long the open loop offers load to one server before it
// turns to the next, when it measures several side by side (the floor and
// authorize): each then sees the same contention from the machine's
// neighbours. Measured one after the other, 15 s apart, on an afternoon
// when that contention changed from minute to minute, the floor's own p99
// ran from 1.5 to 91.6 ms and authorize ÷ floor from 0.18× to 55×. A
// slice's end waits for the answers in flight, a few milliseconds.
const loadSlice = time.Second

// loadTarget is one server of an open-loop measurement.
type loadTarget struct {
	pid     int // whose CPU time is charged to the server
	addr    string
	request func(i int64) []byte
	check   func(int, []byte) error
	// during, when set, is told when the target's slices begin (true) and
	// end (false): authorize charges usage underneath only in its own.
	during func(on bool)
}

// openLoops offers rps to each target for cfg.Duration, after a warm-up of
// cfg.Warmup each. With more than one target the measurement alternates
// between them in slices of loadSlice, each round in the other order, so
// that neither gets the quieter minutes; each result adds up its own slices.
func (h *harness) openLoops(ctx context.Context, rps int, targets ...loadTarget) []OpenLoopResult {
	loops := make([]*loopTarget, len(targets))
	serverCPU := make([]time.Duration, len(targets))
	genCPU := make([]time.Duration, len(targets))
	for i, tg := range targets {
		loops[i] = newLoopTarget(tg.addr, tg.request, tg.check)
		defer loops[i].close()
	}
	slice := loadSlice
	if len(targets) == 1 {
		slice = h.cfg.Duration
	}
	runSlice := func(i int, d time.Duration, measured bool) {
		if targets[i].during != nil {
			targets[i].during(true)
			defer targets[i].during(false)
		}
		server0, err0 := cpuTime(targets[i].pid)
		gen0, err1 := cpuTime(os.Getpid())
		loops[i].run(ctx, rps, d)
		server1, err2 := cpuTime(targets[i].pid)
		gen1, err3 := cpuTime(os.Getpid())
		if measured && errors.Join(err0, err1, err2, err3) == nil {
			serverCPU[i] += server1 - server0
			genCPU[i] += gen1 - gen0
		}
	}
	if h.cfg.Warmup > 0 {
		for i := range loops {
			runSlice(i, h.cfg.Warmup, false)
			loops[i].reset()
		}
	}
	for round, left := 0, h.cfg.Duration; left > 0 && ctx.Err() == nil; round, left = round+1, left-slice {
		d := min(slice, left)
		for k := range loops {
			i := k
			if round%2 == 1 {
				i = len(loops) - 1 - k
			}
			runSlice(i, d, true)
		}
	}
	out := make([]OpenLoopResult, len(loops))
	for i, l := range loops {
		out[i] = l.result(rps)
		if out[i].Sent > 0 {
			out[i].ServerCPUus = float64(serverCPU[i]) / float64(time.Microsecond) / float64(out[i].Sent)
			out[i].GeneratorCPUus = float64(genCPU[i]) / float64(time.Microsecond) / float64(out[i].Sent)
		}
	}
	return out
}

// cpuTime is a process's user + system CPU time so far, from
// /proc/<pid>/stat (clock ticks of 10 ms: over seconds of load, exact
// enough for a per-request average).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	_, rest, ok := bytes.Cut(b, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick, nil
}

// AuthorizeResult is the authorize scenario: the open loop plus the usage
// charged underneath it.
type AuthorizeResult struct {
	OpenLoopResult
	ChurnEvents int64 `json:"churn_events_accepted"`
	ChurnErrors int64 `json:"churn_errors"`
}

// authorizeAndFloor measures the authorize scenario and its floor, side by
// side (openLoops), or whichever of the two cfg asks for.
//
// authorize offers cfg.AuthorizeRPS plain authorize calls over the 100
// workspaces while a background client keeps charging small usage batches
// to them, so balances (and the in-memory gate) change underneath.
//
// The floor offers the same load to floorserver (a net/http server that
// answers a fixed 200 and does nothing else) in a process of its own: the
// generator's, the kernel's and net/http's share of the latencies, to read
// the authorize row against.
func (h *harness) authorizeAndFloor(ctx context.Context) (floor *OpenLoopResult, auth *AuthorizeResult, err error) {
	var targets []loadTarget
	if h.cfg.has(scFloor) {
		f, stop, err := h.startFloor()
		if err != nil {
			return nil, nil, fmt.Errorf("floor: %w", err)
		}
		defer stop()
		targets = append(targets, f)
	}
	var churnEvents, churnErrs atomic.Int64
	stopChurn := func() {}
	if h.cfg.has(scAuth) {
		reqs := make([][]byte, len(h.hundred))
		for i, ws := range h.hundred {
			body, _ := json.Marshal(map[string]string{"workspace_id": ws})
			reqs[i] = request(h.addr, "/v1/authorize", h.service, body)
		}
		var churning atomic.Bool
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for seq := int64(0); ; {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if !churning.Load() {
					continue
				}
				ans, err := h.sendUsage(ctx, usageBody("auth-churn", seq, 10, h.hundred))
				seq += 10
				if err != nil {
					churnErrs.Add(1)
					continue
				}
				churnEvents.Add(ans.Accepted)
			}
		}()
		// Let the last churn batch finish (not cancel it), so the
		// invariant check sees a quiet database.
		stopChurn = func() { close(stop); wg.Wait() }
		targets = append(targets, loadTarget{pid: h.server.Process.Pid, addr: h.addr,
			request: func(i int64) []byte { return reqs[i%int64(len(reqs))] },
			check:   expect("POST /v1/authorize", `"allowed":true`),
			during:  churning.Store})
	}
	res := h.openLoops(ctx, h.cfg.AuthorizeRPS, targets...)
	stopChurn()
	if h.cfg.has(scFloor) {
		floor, res = &res[0], res[1:]
	}
	if h.cfg.has(scAuth) {
		auth = &AuthorizeResult{OpenLoopResult: res[0], ChurnEvents: churnEvents.Load(), ChurnErrors: churnErrs.Load()}
	}
	return floor, auth, nil
}

// balance offers cfg.BalanceRPS GraphQL balance queries as the hot
// workspace's owner.
func (h *harness) balance(ctx context.Context) OpenLoopResult {
	query, _ := json.Marshal(map[string]string{"query": "{ balance { amount blocked } }"})
	req := request(h.addr, "/graphql", h.owner, query)
	return h.openLoops(ctx, h.cfg.BalanceRPS, loadTarget{pid: h.server.Process.Pid, addr: h.addr,
		request: func(int64) []byte { return req },
		check: func(code int, body []byte) error {
			if code != http.StatusOK || !bytes.Contains(body, []byte(`"amount"`)) || bytes.Contains(body, []byte(`"errors"`)) {
				return fmt.Errorf("POST /graphql: %d %s", code, bytes.TrimSpace(body))
			}
			return nil
		}})[0]
}

// startFloor starts floorserver on a free port; stop ends it.
func (h *harness) startFloor() (t loadTarget, stop func(), err error) {
	addr, err := freeAddr()
	if err != nil {
		return t, nil, err
	}
	srv := exec.Command(h.floorBin, addr)
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := srv.Start(); err != nil {
		return t, nil, err
	}
	stop = func() { srv.Process.Kill(); srv.Wait() } //nolint:errcheck // it is ours to stop
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			stop()
			return t, nil, errors.New("floorserver did not start within 10 s")
		}
	}
	// Any id: the floor server does not look.
	body, _ := json.Marshal(map[string]string{"workspace_id": "00000000-0000-4000-8000-000000000000"})
	req := request(addr, "/v1/authorize", h.service, body)
	return loadTarget{pid: srv.Process.Pid, addr: addr, request: func(int64) []byte { return req },
		check: expect("floorserver", `"allowed":true`)}, stop, nil
}

// expect checks for a 200 whose body contains want.
func expect(what, want string) func(int, []byte) error {
	return func(code int, body []byte) error {
		if code != http.StatusOK || !bytes.Contains(body, []byte(want)) {
			return fmt.Errorf("%s: %d %s", what, code, bytes.TrimSpace(body))
		}
		return nil
	}
}
