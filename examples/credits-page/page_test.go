package main

// The page's own checks; server's TestCreditsPage_* drives it in Chromium
// against a real server.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/airouter/credits/taxid"
)

// The static tax ID list (until taxIdTypes is on the API) offers only
// what the server accepts, labelled as the server labels it.
func TestPage_StaticTaxIDTypesAreTheTaxidPackages(t *testing.T) {
	raw, err := os.ReadFile("web/taxid-types.json")
	if err != nil {
		t.Fatal(err)
	}
	var types []struct{ Country, Type, Label, Example string }
	if err := json.Unmarshal(raw, &types); err != nil {
		t.Fatal(err)
	}
	if len(types) == 0 {
		t.Fatal("no tax ID types")
	}
	for _, want := range types {
		found := false
		for _, got := range taxid.TypesFor(want.Country) {
			if got.Type == want.Type {
				found = true
				if got.Label != want.Label || got.Example != want.Example {
					t.Errorf("%s %s: the page says %q (e.g. %s), taxid %q (e.g. %s)", want.Country, want.Type, want.Label, want.Example, got.Label, got.Example)
				}
			}
		}
		if !found {
			t.Errorf("%s %s: not a type taxid accepts for that country", want.Country, want.Type)
		}
	}
}

// The vendored graphql-ws client is byte for byte the one e2e/'s lockfile
// installs (scripts/test.sh runs npm ci there).
func TestPage_VendoredGraphQLWSIsTheLockfilesVersion(t *testing.T) {
	lock, err := os.ReadFile("../../e2e/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(lock, &pkg); err != nil {
		t.Fatal(err)
	}
	version := pkg.Packages["node_modules/graphql-ws"].Version
	note, err := os.ReadFile("web/vendor/graphql-ws/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if version == "" || !bytes.HasPrefix(note, []byte("graphql-ws "+version+" ")) {
		t.Fatalf("the lockfile pins graphql-ws %q; the vendored copy says: %s", version, bytes.SplitN(note, []byte("\n"), 2)[0])
	}
	installed := "../../e2e/node_modules/graphql-ws"
	if _, err := os.Stat(installed); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: %s is missing (scripts/test.sh runs npm ci in e2e/)", installed)
		}
		t.Skipf("%s is missing (npm ci in e2e/, as scripts/test.sh does)", installed)
	}
	for vendored, original := range map[string]string{
		"client.js":          "dist/client.js",
		"common-CGW11Fyb.js": "dist/common-CGW11Fyb.js",
		"LICENSE.md":         "LICENSE.md",
	} {
		a, err := os.ReadFile(filepath.Join("web/vendor/graphql-ws", vendored))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(installed, original))
		if err != nil {
			t.Fatalf("%v (a new graphql-ws build? see web/vendor/graphql-ws/README.md)", err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("web/vendor/graphql-ws/%s differs from graphql-ws %s's %s", vendored, version, original)
		}
	}
}

// The file server serves the page's modules as JavaScript (browsers refuse
// modules of another type) and nothing outside web/.
func TestPage_ServesTheModulesAsJavaScriptAndNothingElse(t *testing.T) {
	srv := httptest.NewServer(handler())
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	code, _, index := get("/")
	if code != http.StatusOK || !strings.Contains(index, `<script type="module" src="app.js">`) {
		t.Fatalf("index: %d", code)
	}
	// Every module the page imports, transitively.
	imports := regexp.MustCompile(`(?m)^(?:import|export)\b[^'"]*from\s+["']\./([^"']+)["']`)
	seen := map[string]bool{}
	queue := []string{"app.js"}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		code, typ, body := get("/" + path)
		if code != http.StatusOK || !strings.HasPrefix(typ, "text/javascript") {
			t.Fatalf("/%s: %d %q", path, code, typ)
		}
		for _, m := range imports.FindAllStringSubmatch(body, -1) {
			queue = append(queue, filepath.ToSlash(filepath.Join(filepath.Dir(path), m[1])))
		}
	}
	for _, want := range []string{"api.js", "money.js", "vendor/graphql-ws/client.js", "vendor/graphql-ws/common-CGW11Fyb.js"} {
		if !seen[want] {
			t.Errorf("the page does not load %s", want)
		}
	}
	if code, _, _ := get("/main.go"); code != http.StatusNotFound {
		t.Errorf("/main.go: %d", code)
	}
}

// The page's money rules (money.js: decimal strings and BigInt, never a
// float), run by Node's test runner.
func TestPage_MoneyRules(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: node is not installed (scripts/test.sh installs it)")
		}
		t.Skip("node is not installed")
	}
	out, err := exec.Command(node, "--test", "money_test.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
