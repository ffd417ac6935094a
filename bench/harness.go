package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
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
	"syscall"
	"time"

	"github.com/lib/pq"

	"github.com/airouter/credits/partitions"
	"github.com/airouter/credits/partitions/week"
)

// harness is the server under test, its database and everything else the
// run created; close undoes all of it.
type harness struct {
	cfg       Config
	began     time.Time
	root      string // the repository
	tmp       string // binary, server log, pgbench script
	bin       string
	floorBin  string
	adminURL  string
	databases []string // created here, dropped by close
	cluster   string   // data directory of the private Postgres (-shared-buffers), stopped and removed by close

	dbURL     string
	db        *sql.DB
	server    *exec.Cmd
	exited    chan struct{} // closed when the server process ends
	serverLog string        // the running server's log
	logs      []string      // every server's log, in start order
	rssKiB    int64         // the highest peak RSS of the servers stopped before this one
	freshURLs []string      // copies of the database made before any load, one per growth round's baseline
	grownURL  string        // another, for the prefill and the grown passes (growth runs)
	base      string        // http://addr
	addr      string        // the server's host:port
	client    *http.Client

	service string   // service token (router surface)
	owner   string   // owner token of the hot workspace (GraphQL)
	hot     []string // one workspace
	hundred []string
	many    []string
	initial map[string]int64 // balance of every workspace before any load, nano-dollars
}

func newHarness(ctx context.Context, cfg Config) (*harness, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, began: time.Now(), root: root, adminURL: cfg.AdminURL, client: loadClient()}
	switch {
	case cfg.SharedBuffers != "":
		if os.Getenv("PG_ADMIN_URL") != "" {
			return nil, errors.New("-shared-buffers starts a private Postgres; unset PG_ADMIN_URL or drop the flag")
		}
		if err := h.startCluster(ctx); err != nil {
			h.close()
			return nil, err
		}
	case h.adminURL == "":
		if h.adminURL, err = findPostgres(ctx, root); err != nil {
			return nil, err
		}
	}
	if err := checkLoopback(h.adminURL); err != nil {
		h.close()
		return nil, err
	}
	if h.tmp, err = os.MkdirTemp("", "credits-bench-"); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// startCluster initialises and starts a private Postgres with the
// configured shared_buffers on a free port, through scripts/postgres.sh
// (which runs it as the postgres user when we are root). Its directory is
// a temporary one of its own: the run's other temporary directory is
// private to this user, and the cluster may run as another.
func (h *harness) startCluster(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "credits-bench-pg-")
	if err != nil {
		return err
	}
	h.cluster = dir
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(h.root, "scripts", "postgres.sh"), "private", dir, strconv.Itoa(port),
		"shared_buffers="+h.cfg.SharedBuffers)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		// The server's own reason (a size it refuses, say) is in its log,
		// which close removes with the directory.
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return fmt.Errorf("scripts/postgres.sh private: %w\n%s", err, strings.TrimSpace(string(log)))
	}
	h.adminURL = strings.TrimSpace(string(out))
	return nil
}

// testHookCluster, when set by a test, sees the harness of a run.
var testHookCluster func(*harness)

// freePort is a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// loadClient keeps an idle connection for every open-loop worker and
// ingestion client, so they reuse connections instead of dialing anew.
func loadClient() *http.Client {
	const maxIdle = 512 // > openLoopConns + clients + the churn client
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:               nil, // only ever 127.0.0.1
		MaxIdleConns:        maxIdle,
		MaxIdleConnsPerHost: maxIdle,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// findPostgres is the project's way: PG_ADMIN_URL, else scripts/postgres.sh
// (which uses, or starts, a local server and prints its admin URL).
func findPostgres(ctx context.Context, root string) (string, error) {
	if u := os.Getenv("PG_ADMIN_URL"); u != "" {
		return u, nil
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "postgres.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/postgres.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// checkLoopback refuses a Postgres that is not on this machine: the
// harness drops databases and must not load anything remote.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("admin URL: %w", err)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "" { // "": a Unix socket
		return fmt.Errorf("admin URL host %q: the harness only talks to 127.0.0.1", h)
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 5)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

// databaseName is the database a URL names.
func databaseName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// exec runs one statement on the database at dsn.
func execOn(ctx context.Context, dsn, stmt string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// createDatabase creates a fresh database (name prefix + random suffix)
// and registers it for close to drop; it returns its URL.
func (h *harness) createDatabase(ctx context.Context, prefix string) (string, error) {
	name := prefix + randomSuffix()
	if err := execOn(ctx, h.adminURL, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	h.databases = append(h.databases, name)
	return withDatabase(h.adminURL, name), nil
}

// dropDatabase drops a database createDatabase made, before close would.
func (h *harness) dropDatabase(ctx context.Context, dsn string) error {
	name := databaseName(dsn)
	if !slices.Contains(h.databases, name) {
		return fmt.Errorf("drop database %q: not one the bench made", name)
	}
	if err := execOn(ctx, h.adminURL, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	h.databases = slices.DeleteFunc(h.databases, func(n string) bool { return n == name })
	return nil
}

// build compiles the server as it ships, not race-instrumented even when
// the harness itself runs under -race, and the floor server.
func (h *harness) build(ctx context.Context) error {
	h.bin, h.floorBin = filepath.Join(h.tmp, "credits"), filepath.Join(h.tmp, "floorserver")
	for pkg, out := range map[string]string{"./cmd/credits": h.bin, "./bench/floorserver": h.floorBin} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = h.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return nil
}

// env is what the CLI and the server run with: the bench database, the
// payment sandbox (never Stripe), warnings and errors only.
func (h *harness) env(extra ...string) []string {
	return append(os.Environ(), append([]string{"DATABASE_URL=" + h.dbURL, "LOG_LEVEL=warn",
		"STRIPE_SECRET_KEY=", "STRIPE_API_BASE=", "AUTO_MIGRATE=false"}, extra...)...)
}

// cli runs one credits command and returns its stdout.
func (h *harness) cli(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("credits %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// setUpServer builds the server, migrates a fresh database, creates the
// workspaces and tokens, and starts the server on a free port.
func (h *harness) setUpServer(ctx context.Context) error {
	if err := h.build(ctx); err != nil {
		return err
	}
	var err error
	if h.dbURL, err = h.createDatabase(ctx, "credits_bench_"); err != nil {
		return err
	}
	if _, err := h.cli(ctx, "migrate"); err != nil {
		return err
	}
	if h.db, err = sql.Open("postgres", h.dbURL); err != nil {
		return err
	}
	// The server will keep usage_events' weekly partitions itself (at
	// start-up and hourly); doing it here too makes sure the bench always
	// writes into partitions, as production does, whoever starts first.
	if err := partitions.Maintain(ctx, h.db, time.Now(), retention); err != nil {
		return fmt.Errorf("usage_events partitions: %w", err)
	}
	h.progress("creating workspaces and tokens")
	if err := h.createWorkspaces(ctx); err != nil {
		return err
	}
	if h.cfg.Prefill > 0 {
		if err := h.copyForGrowth(ctx); err != nil {
			return err
		}
	}
	h.progress("starting the server")
	return h.startServer(ctx)
}

// copyForGrowth copies the database as it is before any load (workspaces,
// tokens, balances): once per growth round to freshURLs, where each round
// measures its baselines, each right before its grown pass (so that the
// ratio compares two passes seconds apart, not ten minutes: the machine's
// speed drifts in between), and once to grownURL, which gets the prefill
// and the grown passes (so that it holds the N prefilled events and not
// also the millions the first pass wrote into this week's key seconds
// before). CREATE DATABASE … TEMPLATE needs the source without sessions,
// so the pool is closed around it.
func (h *harness) copyForGrowth(ctx context.Context) error {
	h.db.Close()
	src := databaseName(h.dbURL)
	copyTo := func(suffix string) (string, error) {
		name := src + suffix
		if err := execOn(ctx, h.adminURL, "CREATE DATABASE "+name+" TEMPLATE "+src); err != nil {
			return "", fmt.Errorf("copy the database before any load: %w", err)
		}
		h.databases = append(h.databases, name)
		return withDatabase(h.adminURL, name), nil
	}
	var err error
	if h.grownURL, err = copyTo("_grown"); err != nil {
		return err
	}
	h.freshURLs = make([]string, h.cfg.GrowthRounds)
	for i := range h.freshURLs {
		if h.freshURLs[i], err = copyTo(fmt.Sprintf("_fresh%d", i+1)); err != nil {
			return err
		}
	}
	h.db, err = sql.Open("postgres", h.dbURL)
	return err
}

// restartOn stops the server and starts it again on the database at url,
// which the harness's own queries then use too.
func (h *harness) restartOn(ctx context.Context, url string) error {
	if rss, err := h.peakRSSKiB(); err == nil {
		h.rssKiB = max(h.rssKiB, rss)
	}
	h.stopServer()
	h.db.Close()
	h.dbURL = url
	var err error
	if h.db, err = sql.Open("postgres", url); err != nil {
		return err
	}
	return h.startServer(ctx)
}

// freeAddr is freePort as host:port.
func freeAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

func (h *harness) startServer(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	h.serverLog = filepath.Join(h.tmp, fmt.Sprintf("server-%d.log", len(h.logs)+1))
	h.logs = append(h.logs, h.serverLog)
	logFile, err := os.Create(h.serverLog)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child holds its own descriptor
	h.server = exec.Command(h.bin, "serve")
	h.server.Env = h.env(append([]string{"ADDR=" + addr, "PUBLIC_URL=http://" + addr}, h.cfg.ServerEnv...)...)
	h.server.Stderr = logFile
	h.server.Stdout = logFile
	// If the harness dies without cleaning up (SIGKILL), the kernel stops
	// the server too instead of leaving it orphaned.
	h.server.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := h.server.Start(); err != nil {
		return err
	}
	h.exited = make(chan struct{})
	go func() { h.server.Wait(); close(h.exited) }() //nolint:errcheck // the exit shows in exited and the log
	h.addr, h.base = addr, "http://"+addr
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if h.ready(ctx) {
			return h.waitForFilter(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-h.exited:
			return fmt.Errorf("server exited at start-up: %s\n%s", h.server.ProcessState, h.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("server not ready within 30 s\n%s", h.logTail())
}

// waitForFilter waits, up to filterWait, for the server's dedupe filter of
// last week (billing/weekfilter.go), which it builds once the week is
// sealed, at start-up: a service runs with it all week, so a pass that
// began before it would measure the first seconds of a week, not the
// week. A week too big to filter, or one not sealed yet (the first hour
// of a Monday), never gets one: the passes then run without.
func (h *harness) waitForFilter(ctx context.Context) error {
	want := float64(week.Start(time.Now()).AddDate(0, 0, -7).Unix())
	started := time.Now()
	for {
		if v, ok := h.metric(ctx, "credits_usage_dedupe_filter_week_start_seconds"); ok && v == want {
			events, _ := h.metric(ctx, "credits_usage_dedupe_filter_events")
			h.progress("server: dedupe filter of last week built (%.0f events) in %s", events, time.Since(started).Round(time.Millisecond))
			return nil
		}
		if time.Since(started) > filterWait {
			h.progress("server: no dedupe filter of last week after %s; measuring without it", filterWait)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// filterWait bounds waitForFilter: a filter of 100 million events takes
// about two minutes to build.
const filterWait = 3 * time.Minute

// metric is the value of the server's unlabelled metric name.
func (h *harness) metric(ctx context.Context, name string) (float64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

func (h *harness) ready(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// serverRunning reports whether the server process is still up.
func (h *harness) serverRunning() bool {
	select {
	case <-h.exited:
		return false
	default:
		return true
	}
}

// logLines is every server's log (warnings and errors) as lines, in
// start order.
func (h *harness) logLines() []string {
	var lines []string
	for _, name := range h.logs {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
	}
	return lines
}

func (h *harness) logTail() string {
	lines := h.logLines()
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "server log:\n" + strings.Join(lines, "\n")
}

// peakRSSKiB reads the running server's high-water resident set size
// (VmHWM).
func (h *harness) peakRSSKiB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.server.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

// stopServer sends SIGTERM (the server drains in-flight requests) and
// kills it if it is not gone within 10 s.
func (h *harness) stopServer() {
	if h.server == nil || h.server.Process == nil || !h.serverRunning() {
		return
	}
	h.server.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have just exited
	select {
	case <-h.exited:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(os.Stderr, "bench: server ignored SIGTERM for 10 s; killing it")
		h.server.Process.Kill() //nolint:errcheck // it may have just exited
		<-h.exited
	}
}

// close undoes everything the run created; it runs on success, failure
// and interrupt alike, on a fresh context because the run's may be done.
func (h *harness) close() {
	h.stopServer()
	if h.db != nil {
		h.db.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range h.databases {
		if err := execOn(ctx, h.adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
		}
	}
	if h.tmp != "" {
		os.RemoveAll(h.tmp)
	}
	if h.cluster != "" {
		stop := exec.CommandContext(ctx, filepath.Join(h.root, "scripts", "postgres.sh"), "stop", h.cluster)
		stop.Stderr = os.Stderr
		if err := stop.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: stop the private Postgres in %s: %v\n", h.cluster, err)
			return // its files stay for whoever looks into why
		}
		os.RemoveAll(h.cluster)
	}
}
