package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// chromiumPath finds Debian's chromium (make test installs it). The test
// is skipped, saying why, only when it is not installed.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no headless Chromium installed (apt-get install chromium); make test installs it where it can")
	return ""
}

// TestPlayground_RunsTheBalanceQueryAndShowsTheDocsInARealBrowser drives
// headless Chromium through the DevTools protocol: open the playground with
// a token, press the run button, read the balance from the result pane,
// then open the Docs panel, which needs the standard introspection query
// (15 levels deep) to have answered.
func TestPlayground_RunsTheBalanceQueryAndShowsTheDocsInARealBrowser(t *testing.T) {
	bin := chromiumPath(t)
	e := newEnv(t)
	_, owner := e.workspace("12.5")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+profile, fmt.Sprintf("--remote-debugging-port=%d", port), "about:blank")
	cmd.Stderr = os.Stderr
	if os.Getenv("CHROMIUM_VERBOSE") == "" {
		cmd.Stderr = nil
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }() //nolint:errcheck // killed on purpose

	page := devtoolsPage(ctx, t, port)
	conn, _, err := websocket.Dial(ctx, page, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(16 << 20)
	defer conn.Close(websocket.StatusNormalClosure, "")
	cdp := &devtools{ctx: ctx, conn: conn}
	cdp.call(t, "Page.enable", nil)
	cdp.call(t, "Page.navigate", map[string]any{"url": e.srv.URL + "/#token=" + owner})
	for loaded := false; !loaded; time.Sleep(100 * time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatal("the playground did not load")
		}
		res := cdp.call(t, "Runtime.evaluate", map[string]any{"expression": "location.href + ' ' + document.readyState", "returnByValue": true})
		v, _ := dig(res, "result", "value").(string)
		loaded = strings.HasPrefix(v, e.srv.URL) && strings.HasSuffix(v, " complete")
	}

	// Wait for GraphiQL, run the default query (balance), wait for the answer.
	script := `new Promise((resolve) => {
		const deadline = Date.now() + 30000;
		let clicked = false;
		const tick = () => {
			const button = document.querySelector('.graphiql-execute-button');
			const text = document.body.innerText;
			if (button && !clicked) { button.click(); clicked = true; }
			if (clicked && text.includes('"amount"')) return resolve(text);
			if (Date.now() > deadline) return resolve('TIMEOUT: ' + text.slice(0, 2000));
			setTimeout(tick, 100);
		};
		tick();
	})`
	res := cdp.call(t, "Runtime.evaluate", map[string]any{"expression": script, "awaitPromise": true, "returnByValue": true})
	text, _ := dig(res, "result", "value").(string)
	if !strings.Contains(text, `"amount": "12.50"`) || !strings.Contains(text, `"blocked": false`) {
		t.Fatalf("the playground did not show the balance:\n%s", text)
	}

	// The Docs panel: open it, then follow Query to the balance field.
	docs := `new Promise((resolve) => {
		const deadline = Date.now() + 30000;
		let opened = false, followed = false;
		const tick = () => {
			const button = [...document.querySelectorAll('.graphiql-sidebar button')]
				.find((b) => (b.getAttribute('aria-label') || '').includes('Documentation'));
			const panel = document.querySelector('.graphiql-doc-explorer');
			const text = panel ? panel.innerText : '';
			if (button && !opened) { button.click(); opened = true; }
			if (text.includes('Error fetching schema')) return resolve('ERROR: ' + text);
			const query = panel && [...panel.querySelectorAll('a')].find((a) => a.innerText.trim() === 'Query');
			if (query && !followed) { query.click(); followed = true; }
			if (followed && text.includes('balance') && text.includes('modelPrices')) return resolve('OK: ' + text);
			if (Date.now() > deadline) return resolve('TIMEOUT: ' + (text || document.body.innerText).slice(0, 2000));
			setTimeout(tick, 100);
		};
		tick();
	})`
	res = cdp.call(t, "Runtime.evaluate", map[string]any{"expression": docs, "awaitPromise": true, "returnByValue": true})
	text, _ = dig(res, "result", "value").(string)
	if !strings.HasPrefix(text, "OK: ") {
		t.Fatalf("the Docs panel did not show the schema:\n%s", text)
	}
}

func devtoolsPage(ctx context.Context, t *testing.T, port int) string {
	t.Helper()
	for ctx.Err() == nil {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/json/list", port))
		if err == nil {
			var targets []map[string]any
			json.NewDecoder(resp.Body).Decode(&targets) //nolint:errcheck // retried
			resp.Body.Close()
			for _, tg := range targets {
				if tg["type"] == "page" {
					return tg["webSocketDebuggerUrl"].(string)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("Chromium's DevTools endpoint did not come up")
	return ""
}

type devtools struct {
	ctx  context.Context
	conn *websocket.Conn
	id   int
}

// call sends one DevTools command and returns its result, skipping events.
func (d *devtools) call(t *testing.T, method string, params map[string]any) map[string]any {
	t.Helper()
	d.id++
	if err := wsjson.Write(d.ctx, d.conn, map[string]any{"id": d.id, "method": method, "params": params}); err != nil {
		t.Fatal(err)
	}
	for {
		var m map[string]any
		if err := wsjson.Read(d.ctx, d.conn, &m); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if id, ok := m["id"].(float64); ok && int(id) == d.id {
			if m["error"] != nil {
				t.Fatalf("%s: %v", method, m["error"])
			}
			res, _ := m["result"].(map[string]any)
			return res
		}
	}
}
