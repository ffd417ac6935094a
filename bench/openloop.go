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

// serverPID is the process whose CPU time is charged to the server.
func (h *harness) openLoop(ctx context.Context, serverPID int, addr string, rps int, request func(i int64) []byte, check func(int, []byte) error) OpenLoopResult {
	if h.cfg.Warmup > 0 {
		openLoop(ctx, addr, rps, h.cfg.Warmup, request, check)
	}
	server0, _ := cpuTime(serverPID)
	gen0, _ := cpuTime(os.Getpid())
	res := openLoop(ctx, addr, rps, h.cfg.Duration, request, check)
	server1, err1 := cpuTime(serverPID)
	gen1, err2 := cpuTime(os.Getpid())
	if err1 == nil && err2 == nil && res.Sent > 0 {
		res.ServerCPUus = float64(server1-server0) / float64(time.Microsecond) / float64(res.Sent)
		res.GeneratorCPUus = float64(gen1-gen0) / float64(time.Microsecond) / float64(res.Sent)
	}
	return res
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

// authorize offers cfg.AuthorizeRPS plain authorize calls over the 100
// workspaces while a background client keeps charging small usage
// batches to them, so balances (and the in-memory gate) change underneath.
func (h *harness) authorize(ctx context.Context) AuthorizeResult {
	reqs := make([][]byte, len(h.hundred))
	for i, ws := range h.hundred {
		body, _ := json.Marshal(map[string]string{"workspace_id": ws})
		reqs[i] = request(h.addr, "/v1/authorize", h.service, body)
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
	res := h.openLoop(ctx, h.server.Process.Pid, h.addr, h.cfg.AuthorizeRPS,
		func(i int64) []byte { return reqs[i%int64(len(reqs))] }, expect("POST /v1/authorize", `"allowed":true`))
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
	req := request(h.addr, "/graphql", h.owner, query)
	return h.openLoop(ctx, h.server.Process.Pid, h.addr, h.cfg.BalanceRPS, func(int64) []byte { return req },
		func(code int, body []byte) error {
			if code != http.StatusOK || !bytes.Contains(body, []byte(`"amount"`)) || bytes.Contains(body, []byte(`"errors"`)) {
				return fmt.Errorf("POST /graphql: %d %s", code, bytes.TrimSpace(body))
			}
			return nil
		})
}

// floor offers the authorize load to floorserver (a net/http server that
// answers a fixed 200 and does nothing else) in a process of its own: the
// generator's, the kernel's and net/http's share of the latencies, to read
// the authorize row against.
func (h *harness) floor(ctx context.Context) (OpenLoopResult, error) {
	addr, err := freeAddr()
	if err != nil {
		return OpenLoopResult{}, err
	}
	srv := exec.Command(h.floorBin, addr)
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := srv.Start(); err != nil {
		return OpenLoopResult{}, err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }() //nolint:errcheck // it is ours to stop
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			return OpenLoopResult{}, errors.New("floorserver did not start within 10 s")
		}
	}
	// Any id: the floor server does not look.
	body, _ := json.Marshal(map[string]string{"workspace_id": "00000000-0000-4000-8000-000000000000"})
	req := request(addr, "/v1/authorize", h.service, body)
	return h.openLoop(ctx, srv.Process.Pid, addr, h.cfg.AuthorizeRPS, func(int64) []byte { return req },
		expect("floorserver", `"allowed":true`)), nil
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
