package server_test

// The API tried with the npm clients the SPA team uses (e2e/, pinned by
// its package-lock.json; scripts/test.sh runs npm ci there).

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/auth"
)

// nodeScript returns the command for e2e/<script>, or skips (fails under
// CI, where scripts/test.sh must have installed the packages).
func nodeScript(ctx context.Context, t *testing.T, script string, args ...string) *exec.Cmd {
	t.Helper()
	dir, err := filepath.Abs("../e2e")
	if err != nil {
		t.Fatal(err)
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql-ws")); err != nil {
		missing = "e2e/node_modules is missing (run npm ci in e2e/, as scripts/test.sh does)"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("e2e: %s", missing)
		}
		t.Skipf("e2e: %s", missing)
	}
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	return cmd
}

// lastJSON decodes the last line of out that is a JSON object.
func lastJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var m map[string]any
		if json.Unmarshal([]byte(lines[i]), &m) == nil {
			return m
		}
	}
	t.Fatalf("no JSON in the script's output:\n%s", out)
	return nil
}

// TestE2E_GraphQLHTTPAudit runs graphql-http's auditServer: every MUST and
// SHOULD item passes.
func TestE2E_GraphQLHTTPAudit(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := nodeScript(ctx, t, "audit.mjs", e.srv.URL+"/graphql", owner).Output()
	res := lastJSON(t, string(out))
	t.Logf("graphql-http audit: %v", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("the audit failed (%v): %v", err, res["failed"])
	}
}

// TestE2E_GraphQLWSClient runs the reference graphql-ws client: a
// subscription receives the first balance and an update; bad tokens end
// with 4401/4403, reported as errors, without a reconnect loop.
func TestE2E_GraphQLWSClient(t *testing.T) {
	e := newEnv(t)
	ws, _ := e.workspace("7")
	member := e.token(ws, auth.RoleMember)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
	cmd := nodeScript(ctx, t, "ws.mjs", url, member, e.service)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var all strings.Builder
	for lines.Scan() {
		all.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), `"ready":true`) {
			break
		}
	}
	if m := lastJSON(t, all.String()); m["first"] != "7.00" {
		t.Fatalf("first balance: %v", m)
	}
	if _, err := e.billing.Grant(context.Background(), ws, 1_000_000_000, "e2e", ""); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "changed\n") //nolint:errcheck // a dead script fails below
	rest, _ := io.ReadAll(stdout)
	all.Write(rest)
	err = cmd.Wait()
	res := lastJSON(t, all.String())
	t.Logf("graphql-ws client: %s", strings.TrimSpace(all.String()))
	if err != nil || res["update"] != "8.00" {
		t.Fatalf("the client failed (%v): %v", err, res)
	}
}

// TestE2E_TheStandardIntrospectionQueryBuildsAClientSchema does what
// GraphiQL's Docs panel and graphql-codegen do (issue 17.1): graphql-js's
// getIntrospectionQuery(), without a token, then buildClientSchema.
func TestE2E_TheStandardIntrospectionQueryBuildsAClientSchema(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := nodeScript(ctx, t, "introspect.mjs", e.srv.URL+"/graphql").Output()
	res := lastJSON(t, string(out))
	t.Logf("introspection: %s", strings.TrimSpace(string(out)))
	if err != nil || res["status"] != float64(200) {
		t.Fatalf("the standard introspection query failed (%v): %v", err, res)
	}
	if n, _ := res["types"].(float64); n < 40 {
		t.Fatalf("only %v types in the client schema", res["types"])
	}
}
