// Command abuse measures issue 16's attacks against a real server on
// loopback, and what they do to /v1/authorize for a good workspace:
//
//	baseline  authorize alone, 10 s
//	repeat    anonymous { balance{amount} × 4,000 } requests: server CPU
//	          seconds per request (from /proc/PID/stat)
//	subs      10,000 balanceUpdated subscription attempts (member token,
//	          10 sockets): server RSS, and authorize p99 while they are set up
//	slow      2 × N clients trickling a body to /graphql and /stripe/webhook
//	          (the server's open-file limit lowered to -nofile): authorize
//	          success rate, new connection per request and keep-alive
//	combined  repeat + subs + slow at once: authorize p99 and success rate
//
// It builds the server from the working tree (or runs -bin, e.g. a build of
// an older commit for a before/after comparison) on a fresh database, and
// prints one JSON object per scenario. Every loop is bounded in count and
// time and targets loopback only.
//
//	go run ./bench/abuse [-bin PATH] [-scenarios repeat,subs,slow,combined] [-slow-clients 2100] [-nofile 4096]
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	_ "github.com/lib/pq"
)

type options struct {
	bin          string
	admin        string
	scenarios    []string
	repeatN      int
	repeatReqs   int
	subAttempts  int
	subSockets   int
	slowClients  int
	slowFor      time.Duration
	nofile       int
	authorizeRPS int
	label        string
	noRouter     bool
}

func main() {
	var o options
	var scenarios string
	flag.StringVar(&o.bin, "bin", "", "server binary (default: build ./cmd/credits from this tree)")
	flag.StringVar(&o.admin, "admin", "", "Postgres admin URL on loopback (default: scripts/postgres.sh)")
	flag.StringVar(&scenarios, "scenarios", "baseline,repeat,subs,slow,combined", "comma list: baseline,repeat,subs,slow,combined")
	flag.IntVar(&o.repeatN, "repeat", 4000, "field repeats in the repeat query")
	flag.IntVar(&o.repeatReqs, "repeat-requests", 4, "repeat queries sent (one at a time) for the CPU figure")
	flag.IntVar(&o.subAttempts, "subs", 10000, "subscription attempts")
	flag.IntVar(&o.subSockets, "sockets", 10, "sockets the subscription attempts are spread over")
	flag.IntVar(&o.slowClients, "slow-clients", 2100, "trickling clients per route (two routes)")
	flag.DurationVar(&o.slowFor, "slow-for", 20*time.Second, "how long the trickling clients keep at it")
	flag.IntVar(&o.nofile, "nofile", 4096, "the server's open-file limit (hard and soft)")
	flag.IntVar(&o.authorizeRPS, "authorize-rps", 200, "offered /v1/authorize load during each scenario")
	flag.StringVar(&o.label, "label", "", "a label printed with the results (e.g. before, after)")
	flag.BoolVar(&o.noRouter, "no-router", false, "do not give the server a ROUTER_ADDR: authorize shares the public listener")
	child := flag.String("authorize-child", "", "internal: run only the authorize load against this base URL")
	workspace := flag.String("workspace", "", "internal: -authorize-child's workspace")
	token := flag.String("token", "", "internal: -authorize-child's service token")
	keepAlive := flag.Bool("keepalive", true, "internal: -authorize-child keeps connections alive")
	flag.Parse()
	if *child != "" {
		authorizeChild(*child, *workspace, *token, o.authorizeRPS, *keepAlive)
		return
	}
	o.scenarios = strings.Split(scenarios, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "abuse:", err)
		os.Exit(1)
	}
}

// srv is the server under test and its credentials.
type srv struct {
	cmd       *exec.Cmd
	pid       int
	base      string // public listener
	router    string // the router's listener (ROUTER_ADDR), or base if the binary has none
	workspace string
	owner     string
	member    string
	service   string
	dbURL     string
	adminURL  string
	tmp       string
	hasRouter bool
	serverLog string
	bin       string
}

func run(o options) error {
	ctx := context.Background()
	s, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer s.stop()
	for _, sc := range o.scenarios {
		var res map[string]any
		hist0 := s.authorizeHistogram()
		switch strings.TrimSpace(sc) {
		case "baseline":
			load := s.startAuthorize(o.authorizeRPS, true, s.router)
			time.Sleep(10 * time.Second)
			res = load.stop()
		case "repeat":
			res = s.repeat(ctx, o)
		case "subs":
			res = s.subs(ctx, o, true)
		case "slow":
			res = s.slow(ctx, o)
		case "combined":
			res = s.combined(ctx, o)
		default:
			return fmt.Errorf("unknown scenario %q", sc)
		}
		res["scenario"], res["label"] = sc, o.label
		if hist0 != nil {
			res["server_side_authorize"] = histogramDiff(hist0, s.authorizeHistogram())
		}
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
		if !s.alive() {
			return fmt.Errorf("the server died during %s:\n%s", sc, s.logTail())
		}
	}
	return nil
}

func start(ctx context.Context, o options) (*srv, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	s := &srv{bin: o.bin}
	if s.tmp, err = os.MkdirTemp("", "abuse-"); err != nil {
		return nil, err
	}
	if s.bin == "" {
		s.bin = filepath.Join(s.tmp, "credits")
		if out, err := exec.Command("go", "build", "-o", s.bin, "./cmd/credits").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build: %v\n%s", err, out)
		}
	}
	s.adminURL = o.admin
	if s.adminURL == "" {
		out, err := exec.Command(filepath.Join(root, "scripts/postgres.sh")).Output()
		if err != nil {
			return nil, fmt.Errorf("scripts/postgres.sh: %w", err)
		}
		s.adminURL = strings.TrimSpace(string(out))
	}
	u, err := url.Parse(s.adminURL)
	if err != nil || !loopback(u.Hostname()) {
		return nil, fmt.Errorf("the database must be on loopback: %q", s.adminURL)
	}
	name := "credits_abuse_" + randomHex(4)
	if err := execSQL(s.adminURL, "CREATE DATABASE "+name); err != nil {
		return nil, err
	}
	u.Path = "/" + name
	s.dbURL = u.String()
	if _, err := s.cli("migrate"); err != nil {
		return nil, err
	}
	var created struct {
		WorkspaceID string `json:"workspace_id"`
		Token       string `json:"token"`
	}
	out, err := s.cli("workspace", "create", "--name", "abuse", "--plan", "pro", "--json")
	if err != nil || json.Unmarshal(out, &created) != nil {
		return nil, fmt.Errorf("workspace create: %v %s", err, out)
	}
	s.workspace, s.owner = created.WorkspaceID, created.Token
	if _, err := s.cli("credits", "grant", "--workspace", s.workspace, "--amount", "1000000", "--reason", "abuse bench"); err != nil {
		return nil, err
	}
	if s.member, err = s.token("--workspace", s.workspace, "--role", "member"); err != nil {
		return nil, err
	}
	if s.service, err = s.token("--role", "service"); err != nil {
		return nil, err
	}
	addr, router := freeAddr(), freeAddr()
	s.serverLog = filepath.Join(s.tmp, "server.log")
	logFile, err := os.Create(s.serverLog)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// prlimit's --nofile sets both limits, so Go's start-up raise cannot
	// lift it: the server has as few descriptors as the limit says.
	s.cmd = exec.Command("prlimit", fmt.Sprintf("--nofile=%d:%d", o.nofile, o.nofile), s.bin, "serve")
	s.cmd.Env = append(os.Environ(), "DATABASE_URL="+s.dbURL, "ADDR="+addr, "LOG_LEVEL=warn", "GRAPHQL_MUTATIONS_PER_SECOND=-1")
	if !o.noRouter {
		s.cmd.Env = append(s.cmd.Env, "ROUTER_ADDR="+router)
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.pid = s.cmd.Process.Pid
	s.base = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for !get(s.base + "/readyz") {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("server not ready:\n%s", s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.hasRouter = get("http://" + router + "/readyz")
	s.router = s.base
	if s.hasRouter {
		s.router = "http://" + router
	}
	return s, nil
}

func (s *srv) token(args ...string) (string, error) {
	out, err := s.cli(append([]string{"token", "create", "--json"}, args...)...)
	var t struct {
		Token string `json:"token"`
	}
	if err != nil || json.Unmarshal(out, &t) != nil {
		return "", fmt.Errorf("token create: %v %s", err, out)
	}
	return t.Token, nil
}

func (s *srv) cli(args ...string) ([]byte, error) {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+s.dbURL)
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("credits %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

func (s *srv) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }() //nolint:errcheck
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill() //nolint:errcheck
			<-done
		}
	}
	if s.dbURL != "" {
		name := strings.TrimPrefix(must(url.Parse(s.dbURL)).Path, "/")
		execSQL(s.adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
	}
	os.RemoveAll(s.tmp)
}

func (s *srv) alive() bool { return s.cmd.ProcessState == nil && syscall.Kill(s.pid, 0) == nil }

func (s *srv) logTail() string {
	b, _ := os.ReadFile(s.serverLog)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// cpuSeconds is the server's user+system CPU time so far.
func (s *srv) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// rssMiB returns the server's current and peak resident memory.
func (s *srv) rssMiB() (cur, peak float64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kib, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			cur = kib / 1024
		case "VmHWM:":
			peak = kib / 1024
		}
	}
	return cur, peak
}

// repeat sends the 4,000-repeat query anonymously, one at a time, and
// reports the server's CPU per request and what it answered.
func (s *srv) repeat(ctx context.Context, o options) map[string]any {
	body, _ := json.Marshal(map[string]any{"query": "{" + strings.Repeat(" balance{amount}", o.repeatN) + " }"})
	client := &http.Client{Timeout: 5 * time.Minute}
	before := s.cpuSeconds()
	start := time.Now()
	answers := map[string]int{}
	for i := 0; i < o.repeatReqs; i++ {
		resp, err := client.Post(s.base+"/graphql", "application/json", strings.NewReader(string(body)))
		if err != nil {
			answers["error"]++
			continue
		}
		var out struct {
			Errors []struct {
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		json.NewDecoder(resp.Body).Decode(&out) //nolint:errcheck
		resp.Body.Close()
		code := fmt.Sprint(resp.StatusCode)
		if len(out.Errors) > 0 {
			code += " " + fmt.Sprint(out.Errors[0].Extensions["code"])
		}
		answers[code]++
	}
	cpu := s.cpuSeconds() - before
	return map[string]any{"requests": o.repeatReqs, "repeats": o.repeatN, "body_bytes": len(body),
		"server_cpu_s": round(cpu), "server_cpu_s_per_request": round(cpu / float64(o.repeatReqs)),
		"wall_s": round(time.Since(start).Seconds()), "answers": answers}
}

// subs makes the subscription attempts over o.subSockets member sockets
// while authorize runs, then reports RSS and authorize latency.
func (s *srv) subs(ctx context.Context, o options, measure bool) map[string]any {
	var load measurement
	if measure {
		load = s.startAuthorize(o.authorizeRPS, true, s.router)
	}
	_, peakBefore := s.rssMiB()
	var acked, refused, closed atomic.Int64
	var conns []*websocket.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	per := o.subAttempts / o.subSockets
	start := time.Now()
	for i := 0; i < o.subSockets; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(s.base, "http")+"/graphql",
				&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
			if err != nil {
				closed.Add(int64(per))
				return
			}
			conn.SetReadLimit(1 << 20)
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wsjson.Write(dctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + s.member}}) //nolint:errcheck
			var ack map[string]any
			if wsjson.Read(dctx, conn, &ack) != nil || ack["type"] != "connection_ack" {
				closed.Add(int64(per))
				return
			}
			wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
			defer wcancel()
			go func() {
				for j := 0; j < per; j++ {
					if wsjson.Write(wctx, conn, map[string]any{"id": strconv.Itoa(j), "type": "subscribe",
						"payload": map[string]any{"query": "subscription { balanceUpdated { amount } }"}}) != nil {
						return
					}
				}
			}()
			seen := map[string]bool{}
			for len(seen) < per {
				var m map[string]any
				if wsjson.Read(wctx, conn, &m) != nil {
					closed.Add(int64(per - len(seen)))
					return
				}
				id, _ := m["id"].(string)
				if id == "" || seen[id] {
					continue
				}
				seen[id] = true
				payload, _ := m["payload"].(map[string]any)
				if m["type"] == "next" && payload["data"] != nil {
					acked.Add(1)
				} else {
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	setup := time.Since(start)
	time.Sleep(time.Second) // let the server settle before reading RSS
	cur, peak := s.rssMiB()
	res := map[string]any{"attempts": o.subAttempts, "sockets": o.subSockets, "subscribed": acked.Load(), "refused": refused.Load(),
		"lost": closed.Load(), "setup_s": round(setup.Seconds()), "rss_mib": round(cur), "peak_rss_mib": round(peak), "peak_rss_before_mib": round(peakBefore)}
	if load != nil {
		maps(res, load.stop())
	}
	for _, c := range conns {
		c.Close(websocket.StatusNormalClosure, "") //nolint:errcheck
	}
	return res
}

// slow starts the trickling clients and measures authorize meanwhile.
func (s *srv) slow(ctx context.Context, o options) map[string]any {
	stopTrickle, dropped := s.trickle(o)
	time.Sleep(3 * time.Second) // let them connect
	fresh := s.startAuthorize(o.authorizeRPS/2, false, s.router)
	pooled := s.startAuthorize(o.authorizeRPS/2, true, s.router)
	time.Sleep(o.slowFor - 3*time.Second)
	res := map[string]any{"trickling_clients": 2 * o.slowClients, "server_nofile": o.nofile, "authorize_url": s.router}
	maps(res, prefixed("new_conn_", fresh.stop()))
	maps(res, prefixed("keepalive_", pooled.stop()))
	stopTrickle()
	res["trickling_dropped_by_server"] = dropped.Load()
	return res
}

func (s *srv) combined(ctx context.Context, o options) map[string]any {
	load := s.startAuthorize(o.authorizeRPS, true, s.router)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var repeats atomic.Int64
	for i := 0; i < 2; i++ { // two repeat-query clients, one at a time each
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"query": "{" + strings.Repeat(" balance{amount}", o.repeatN) + " }"})
			client := &http.Client{Timeout: 5 * time.Minute}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if resp, err := client.Post(s.base+"/graphql", "application/json", strings.NewReader(string(body))); err == nil {
					io.Copy(io.Discard, resp.Body) //nolint:errcheck
					resp.Body.Close()
					repeats.Add(1)
				} else {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	cpu0, self0, busy0, all0 := s.cpuSeconds(), selfCPU(), 0.0, 0.0
	busy0, all0 = machineCPU()
	start := time.Now()
	// The subscriptions first: once the trickling clients fill the public
	// listener, new sockets wait for a place like everyone else.
	subs := s.subs(ctx, o, false)
	stopTrickle, _ := s.trickle(o)
	time.Sleep(o.slowFor)
	res := map[string]any{"repeat_requests_answered": repeats.Load(), "subscribed": subs["subscribed"], "rss_mib": subs["rss_mib"],
		"trickling_clients": 2 * o.slowClients, "authorize_url": s.router}
	maps(res, load.stop())
	busy1, all1 := machineCPU()
	res["server_cpu_s"] = round(s.cpuSeconds() - cpu0)
	res["attack_client_cpu_s"] = round(selfCPU() - self0)
	res["wall_s"] = round(time.Since(start).Seconds())
	res["machine_busy_pct"] = round(100 * (busy1 - busy0) / max(1, all1-all0))
	close(stop)
	stopTrickle()
	wg.Wait()
	return res
}

// trickle opens 2 × o.slowClients connections that send a body one byte
// a second to /graphql and /stripe/webhook, for at most o.slowFor.
func (s *srv) trickle(o options) (stop func(), dropped *atomic.Int64) {
	dropped = &atomic.Int64{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	host := strings.TrimPrefix(s.base, "http://")
	for _, path := range []string{"/graphql", "/stripe/webhook"} {
		for i := 0; i < o.slowClients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.DialTimeout("tcp", host, 5*time.Second)
				if err != nil {
					return
				}
				defer conn.Close()
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", path) //nolint:errcheck
				deadline := time.Now().Add(o.slowFor)
				for time.Now().Before(deadline) {
					select {
					case <-done:
						return
					case <-time.After(time.Second):
					}
					if _, err := conn.Write([]byte(" ")); err != nil {
						dropped.Add(1)
						return
					}
				}
			}()
		}
	}
	return func() { close(done); wg.Wait() }, dropped
}

// authorizeLoad offers /v1/authorize at a fixed rate and records each
// answer's latency (2 s timeout; a timeout or error is a failure).
type authorizeLoad struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	lat   []time.Duration
	ok    int
	total int
}

// authorizeChild is the -authorize-child mode: offer the load until stdin
// closes, then print the figures. A process of its own keeps the attack's
// client work (encoding, thousands of goroutines) out of the measurement.
func authorizeChild(base, workspace, token string, rps int, keepAlive bool) {
	s := &srv{workspace: workspace, service: token}
	l := s.localAuthorize(rps, keepAlive, base)
	io.Copy(io.Discard, os.Stdin)               //nolint:errcheck // EOF is the signal
	json.NewEncoder(os.Stdout).Encode(l.stop()) //nolint:errcheck
}

// measurement is a running authorize load.
type measurement interface{ stop() map[string]any }

type childLoad struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *strings.Builder
}

func (c *childLoad) stop() map[string]any {
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		return map[string]any{"authorize_error": err.Error()}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(c.out.String()), &m); err != nil {
		return map[string]any{"authorize_error": c.out.String()}
	}
	return m
}

// startAuthorize starts the load in a child process (this binary).
func (s *srv) startAuthorize(rps int, keepAlive bool, base string) measurement {
	self, err := os.Executable()
	if err != nil {
		return s.localAuthorize(rps, keepAlive, base)
	}
	cmd := exec.Command(self, "-authorize-child", base, "-workspace", s.workspace, "-token", s.service,
		"-authorize-rps", strconv.Itoa(rps), "-keepalive="+strconv.FormatBool(keepAlive))
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdin, err := cmd.StdinPipe()
	if err != nil || cmd.Start() != nil {
		return s.localAuthorize(rps, keepAlive, base)
	}
	time.Sleep(200 * time.Millisecond) // its start-up is not part of the window
	return &childLoad{cmd: cmd, stdin: stdin, out: out}
}

func (s *srv) localAuthorize(rps int, keepAlive bool, base string) *authorizeLoad {
	l := &authorizeLoad{stopc: make(chan struct{})}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableKeepAlives: !keepAlive}
	client := &http.Client{Timeout: 2 * time.Second, Transport: tr}
	// The router's hot path: no estimate, so no hold (a database write).
	body := `{"workspace_id":"` + s.workspace + `"}`
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(time.Second / time.Duration(max(1, rps)))
		defer t.Stop()
		for {
			select {
			case <-l.stopc:
				return
			case <-t.C:
			}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				req, _ := http.NewRequest(http.MethodPost, base+"/v1/authorize", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+s.service)
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				resp, err := client.Do(req)
				ok := false
				if err == nil {
					io.Copy(io.Discard, resp.Body) //nolint:errcheck
					resp.Body.Close()
					ok = resp.StatusCode == http.StatusOK
				}
				d := time.Since(start)
				l.mu.Lock()
				l.total++
				if ok {
					l.ok++
					l.lat = append(l.lat, d)
				}
				l.mu.Unlock()
			}()
		}
	}()
	return l
}

func (l *authorizeLoad) stop() map[string]any {
	close(l.stopc)
	l.wg.Wait()
	slices.Sort(l.lat)
	q := func(p float64) float64 {
		if len(l.lat) == 0 {
			return -1
		}
		return round(float64(l.lat[min(len(l.lat)-1, int(p*float64(len(l.lat))))].Microseconds()) / 1000)
	}
	return map[string]any{"authorize_requests": l.total, "authorize_success_pct": round(100 * float64(l.ok) / float64(max(1, l.total))),
		"authorize_p50_ms": q(0.50), "authorize_p99_ms": q(0.99), "authorize_max_ms": q(1)}
}

// authorizeHistogram reads the server's own /v1/authorize latency buckets
// (cumulative counts by upper bound), which leave out the client and the
// network: where they disagree with the client's figures, the time went
// before the handler (accept, scheduling) or in the client.
func (s *srv) authorizeHistogram() map[string]float64 {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(s.router + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "credits_http_request_duration_seconds_bucket{") || !strings.Contains(line, `route="POST /v1/authorize"`) || !strings.Contains(line, `status="200"`) {
			continue
		}
		i := strings.Index(line, `le="`)
		j := strings.Index(line[i+4:], `"`)
		v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		out[line[i+4:i+4+j]] = v
	}
	return out
}

// histogramDiff is the share of the scenario's authorize answers (server
// side) within each bound.
func histogramDiff(a, b map[string]float64) map[string]any {
	total := b["+Inf"] - a["+Inf"]
	out := map[string]any{"answers": total}
	for _, le := range []string{"0.005", "0.025", "0.1", "0.5"} {
		if total > 0 {
			out["within_"+le+"s_pct"] = round(100 * (b[le] - a[le]) / total)
		}
	}
	return out
}

// selfCPU is this process's CPU time (the attack's client side).
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) //nolint:errcheck
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// machineCPU is the machine's busy and total jiffies from /proc/stat.
func machineCPU() (busy, total float64) {
	b, _ := os.ReadFile("/proc/stat")
	line := strings.SplitN(string(b), "\n", 2)[0]
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

func maps(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = v
	}
}

func prefixed(p string, m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[p+k] = v
	}
	return out
}

func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func get(u string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func execSQL(dsn, stmt string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(stmt)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail on Linux
	return hex.EncodeToString(b)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
