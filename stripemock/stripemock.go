// Package stripemock gives tests a running stripe-mock (v0.203.0): the one
// at STRIPE_MOCK_URL (make test starts it), or one this test binary starts
// from .tools/bin, GOPATH/bin or PATH. stripe-mock validates requests
// against Stripe's OpenAPI spec and answers fixtures; it proves the adapter
// sends well-formed calls, not Stripe's behaviour.
package stripemock

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	once sync.Once
	url  string
	err  error
	cmd  *exec.Cmd
)

// URL returns the base URL of a running stripe-mock or fails the test
// (SKIP_STRIPE_MOCK=1 skips instead).
func URL(t testing.TB) string {
	t.Helper()
	if os.Getenv("SKIP_STRIPE_MOCK") == "1" {
		t.Skip("SKIP_STRIPE_MOCK=1")
	}
	once.Do(start)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// Stop ends a stripe-mock this binary started; call it from TestMain.
func Stop() {
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Kill() //nolint:errcheck // best effort at exit
	}
}

func start() {
	if u := os.Getenv("STRIPE_MOCK_URL"); u != "" {
		url = u
		return
	}
	bin := find()
	if bin == "" {
		err = errors.New("stripe-mock not installed: run scripts/stripe-mock.sh (make test does)")
		return
	}
	l, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		err = lerr
		return
	}
	addr := l.Addr().String()
	l.Close()
	cmd = exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:0")
	if err = cmd.Start(); err != nil {
		return
	}
	// Loading Stripe's OpenAPI spec takes seconds on a busy machine.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if c, derr := net.Dial("tcp", addr); derr == nil {
			c.Close()
			url = "http://" + addr
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	err = errors.New("stripe-mock did not start")
}

func find() string {
	var candidates []string
	if wd, werr := os.Getwd(); werr == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			candidates = append(candidates, filepath.Join(dir, ".tools", "bin", "stripe-mock"))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if gopath, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
		candidates = append(candidates, filepath.Join(strings.TrimSpace(string(gopath)), "bin", "stripe-mock"))
	}
	if p, lerr := exec.LookPath("stripe-mock"); lerr == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if fi, serr := os.Stat(c); serr == nil && !fi.IsDir() {
			return c
		}
	}
	return ""
}
