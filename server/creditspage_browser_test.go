package server_test

// The reference Credits page (examples/credits-page/web) in headless
// Chromium, served from a second origin against a real server, as the SPA
// runs: every call crosses origins (CORS, the WebSocket, the signed
// invoice link).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/google/uuid"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/pgtest"
)

const creditsPageDir = "../examples/credits-page/web"

// CREDITS_PAGE_SCREENSHOTS=1 writes the page's screenshots to docs/
// (they are taken, and checked to be PNGs, on every run).
const screenshotsEnv = "CREDITS_PAGE_SCREENSHOTS"

// requireChromium is chromiumPath, except that under CI, where
// scripts/test.sh installs Chromium, a missing browser fails the test.
func requireChromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("CI") != "" {
		if _, err := exec.LookPath("chromium"); err != nil {
			t.Fatal("CI: no chromium on PATH; scripts/test.sh installs Debian's chromium")
		}
	}
	return chromiumPath(t)
}

// TestCreditsPage_WalksThroughTheCreditsPageFromAnotherOrigin drives the
// page as a customer would: add, make default and remove cards; buy 25.00
// with a tax ID (after the amount and the tax ID are refused); see the
// row; download its invoice through the signed link; buy with a card that
// needs 3-D Secure and finish it through the sandbox's step; see a decline;
// enable auto top-up; watch the balance follow usage posted to /v1/usage
// live, then an auto top-up land; filter the history; and see auto top-up
// pause with the card's decline as its last error.
func TestCreditsPage_WalksThroughTheCreditsPageFromAnotherOrigin(t *testing.T) {
	bin := requireChromium(t)

	// The page on one origin, the API on another.
	pageSrv := httptest.NewServer(http.FileServer(http.Dir(creditsPageDir)))
	t.Cleanup(pageSrv.Close)
	apiListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiURL := "http://" + apiListener.Addr().String()
	e := newEnvWith(t, pgtest.New(t), func(o *app.Options) {
		o.CORSAllowedOrigins = []string{pageSrv.URL}
		o.PublicURL = apiURL // signed invoice links point at the API the browser reaches
		o.Billing.TopUps.MaxDeclines = 1
	})
	apiSrv := httptest.NewUnstartedServer(e.handler)
	apiSrv.Listener.Close()
	apiSrv.Listener = apiListener
	apiSrv.Start()
	t.Cleanup(apiSrv.Close)
	ws, owner := e.workspace("0")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := openChromium(ctx, t, bin)
	p.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": false})
	p.call("Page.navigate", map[string]any{"url": pageSrv.URL + "/?" + url.Values{"api": {apiURL}, "token": {owner}}.Encode()})
	p.waitFor("the page connected and subscribed", `document.querySelector('#page')?.dataset.state === 'ready' && document.querySelector('#live')?.dataset.state === 'live'`)
	p.eval(pageHelpers + "; true")
	shots := newScreenshots(t)

	// Empty state.
	p.expect("the token left the address bar", `!location.search.includes('token')`)
	p.expect("a zero balance", `T.text('#balance-amount') === '$0.00'`)
	p.expect("the blocked banner", `!T.$('#blocked-banner').hidden`)
	p.expect("no cards, no history, auto top-up disabled",
		`!T.$('#cards-empty').hidden && T.rows().length === 0 && !T.$('#history-empty').hidden && T.text('#atu-status') === 'DISABLED'`)
	shots.take(p, "credits-page-empty.png")

	// Payment methods: add two, switch the default, remove one.
	p.eval(`T.set('#add-card-pm', 'pm_card_visa'); T.click('#add-card-button')`)
	p.waitFor("the first card, default", `T.cards() === '4242*'`)
	p.eval(`T.set('#add-card-pm', 'pm_card_mastercard'); T.click('#add-card-button')`)
	p.waitFor("a second card", `T.cards() === '4242*,4444'`)
	p.eval(`T.click('#card-list li[data-last4="4444"] [data-action="default"]')`)
	p.waitFor("the second card is the default", `T.cards() === '4444*,4242'`)
	p.eval(`T.click('#card-list li[data-last4="4242"] [data-action="default"]')`)
	p.waitFor("the first card is the default again", `T.cards() === '4242*,4444'`)
	p.eval(`T.click('#card-list li[data-last4="4444"] [data-action="remove"]')`)
	p.expect("removing asks first", `T.text('#card-list li[data-last4="4444"] [data-action="remove"]') === 'Confirm remove'`)
	p.eval(`T.click('#card-list li[data-last4="4444"] [data-action="remove"]')`)
	p.waitFor("the second card removed", `T.cards() === '4242*'`)

	// Add Credits: the page refuses what purchaseSettings refuses, the
	// server refuses a bad tax ID, then 25.00 with a tax ID goes through.
	p.eval(`T.click('#add-credits-open')`)
	p.expect("the dialog, with the limits and the default card chosen",
		`T.$('#add-credits').open && T.text('#ac-limits').startsWith('Minimum $5.00, maximum $10,000.00') && T.$('input[name="ac-card"]:checked')?.value !== 'new'`)
	p.eval(`T.set('#ac-amount', '4.99'); T.click('#ac-confirm')`)
	p.expect("the minimum from purchaseSettings", `T.text('#ac-error') === 'The minimum is $5.00.'`)
	p.eval(`T.set('#ac-amount', '10000.01'); T.click('#ac-confirm')`)
	p.expect("the maximum from purchaseSettings", `T.text('#ac-error') === 'The maximum is $10,000.00.'`)
	p.eval(`T.set('#ac-amount', '25.00'); T.click('#ac-confirm')`)
	p.expect("billing details are required", `T.text('#ac-error').includes('name is required')`)
	p.eval(`T.set('#ac-name', 'Zofia Müller-Łęcka'); T.set('#ac-line1', 'ul. Piotrkowska 12'); T.set('#ac-city', 'Łódź');
		T.set('#ac-postal', '90-001'); T.set('#ac-country', 'PL'); T.check('#ac-tax', true);
		T.set('#ac-tax-country', 'PL'); T.set('#ac-tax-type', 'eu_vat'); T.set('#ac-tax-value', 'PL123'); T.click('#ac-confirm')`)
	p.waitFor("the server's tax ID check", `T.text('#ac-error').includes('PL followed by 10 digits')`)
	// What the API sends back is shown as text, never parsed as HTML.
	p.eval(`T.set('#ac-tax-value', 'PL<img src=x onerror="window.__injected=1">'); T.$('#ac-error').textContent = ''; T.click('#ac-confirm')`)
	p.waitFor("the server's answer to markup", `T.text('#ac-error') !== ''`)
	p.expect("no markup ran", `window.__injected === undefined && T.$('#add-credits img') === null`)
	if b := e.balance(ws); b != "0.00" {
		t.Fatalf("refused purchases moved the balance to %s", b)
	}
	p.eval(`T.set('#ac-tax-value', 'PL5261025421'); T.$('#ac-error').textContent = ''`)
	shots.take(p, "credits-page-add-credits.png")
	// Two submits before the first answers (a double click that beats the
	// disabled button): one idempotency key, one charge.
	p.eval(`T.$('#add-credits-form').requestSubmit(); T.$('#add-credits-form').requestSubmit()`)
	p.waitFor("the purchase landed", `!T.$('#add-credits').open && T.text('#balance-amount') === '$25.00' && T.text('#notice') === 'Added $25.00 of credits.'`)
	p.waitFor("its row", `T.rowsText() === 'PURCHASE SUCCEEDED 25.00 invoice'`)
	p.expect("date, time, type, amount and status cells",
		`(([d, tm, ty, am, st, inv]) => d && tm && ty === 'Purchase' && am === '$25.00' && st === 'Succeeded' && inv === 'Download Invoice')(T.rows()[0].cells)`)
	p.expect("the blocked banner gone", `T.$('#blocked-banner').hidden`)
	if n := e.sandbox.Charges(); n != 1 {
		t.Fatalf("two submits of one dialog charged %d times", n)
	}
	data, _ := e.gql(owner, `{ billingProfile { name taxId { country type value } } }`, nil)
	if dig(data, "billingProfile", "taxId", "value") != "PL5261025421" || dig(data, "billingProfile", "taxId", "type") != "eu_vat" {
		t.Fatalf("the purchase did not carry the tax ID: %v", data)
	}
	shots.take(p, "credits-page-after-purchase.png")

	// Download Invoice is a plain link to the API's origin, without the
	// token, that the browser can fetch (CORS) and that is a PDF.
	href, _ := p.eval(`T.$('#history-rows tr a.download').href`).(string)
	if !strings.HasPrefix(href, apiURL+"/invoices/") || strings.Contains(href, owner) {
		t.Fatalf("the invoice link %q", href)
	}
	got := p.eval(`fetch(T.$('#history-rows tr a.download').href).then(async (r) =>
		r.status + ' ' + r.headers.get('content-type') + ' ' + new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5)))`)
	if got != "200 application/pdf %PDF-" {
		t.Fatalf("fetching the signed link from the page: %v", got)
	}
	resp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the signed link without a token: %d", resp.StatusCode)
	}

	// A card that needs 3-D Secure: the page plays the bank's step through
	// the sandbox; the credit lands once it is confirmed.
	p.eval(`T.click('#add-credits-open')`)
	p.expect("the billing details remembered", `T.$('#ac-name').value === 'Zofia Müller-Łęcka' && T.$('#ac-tax').checked && T.$('#ac-tax-value').value === 'PL5261025421'`)
	p.eval(`T.set('#ac-amount', '30'); T.set('#ac-new-pm', 'pm_card_authenticationRequired'); T.click('#ac-confirm')`)
	p.waitFor("the 3-D Secure step", `T.$('#three-ds').open && T.text('#tds-text').includes('$30.00')`)
	p.expect("no credit before authentication", `T.text('#balance-amount') === '$25.00'`)
	p.eval(`T.click('#tds-complete')`)
	p.waitFor("the authenticated purchase landed", `!T.$('#three-ds').open && T.text('#balance-amount') === '$55.00'`)
	p.waitFor("its row", `T.rowsText() === 'PURCHASE SUCCEEDED 30.00 invoice|PURCHASE SUCCEEDED 25.00 invoice'`)
	p.waitFor("the new card saved", `T.cards() === '4242*,3184'`)
	// The bank refuses the authentication: no credit, a FAILED row. The
	// page's reload after this purchase is held back 3 s (a slow API), so
	// the next dialog opens while the last one's Confirm would still be
	// disabled (CI, 29 Nov: a declined card's Confirm did nothing).
	p.eval(`window.__fetch = window.fetch; window.fetch = (url, init) => (init?.body ?? '').includes('purchaseSettings')
		? new Promise((ok) => setTimeout(ok, 3000)).then(() => window.__fetch(url, init)) : window.__fetch(url, init)`)
	p.eval(`T.click('#add-credits-open')`)
	p.eval(`T.set('#ac-amount', '15'); T.set('#ac-new-pm', 'pm_card_authenticationRequired'); T.click('#ac-confirm')`)
	p.waitFor("the 3-D Secure step again", `T.$('#three-ds').open && T.text('#tds-text').includes('$15.00')`)
	p.eval(`T.click('#tds-fail')`)
	p.waitFor("the refused authentication", `!T.$('#three-ds').open && T.text('#notice').startsWith('The bank refused') &&
		T.rowsText().startsWith('PURCHASE FAILED 15.00 -|')`)
	p.expect("no credit", `T.text('#balance-amount') === '$55.00'`)

	// A declined card: the reason in the dialog, a FAILED row, no credit.
	p.eval(`T.click('#add-credits-open')`)
	p.eval(`T.set('#ac-amount', '10.00'); T.set('#ac-new-pm', 'pm_card_chargeDeclined'); T.click('#ac-confirm')`)
	p.waitFor("the decline", `T.text('#ac-error').includes('Your card was declined.')`)
	p.eval(`window.fetch = window.__fetch`)
	p.eval(`T.click('#ac-cancel')`)
	p.waitFor("the failed row", `T.rowsText().startsWith('PURCHASE FAILED 10.00 -|PURCHASE FAILED 15.00 -|')`)
	p.expect("no credit", `T.text('#balance-amount') === '$55.00'`)

	// Auto top-up: below 50.00, add 20.00.
	p.eval(`T.check('#atu-enabled', true); T.set('#atu-threshold', '50'); T.set('#atu-amount', '20'); T.click('#atu-save')`)
	p.waitFor("auto top-up active", `T.text('#atu-status') === 'ACTIVE' && T.$('#atu-threshold').value === '50.00' && T.$('#atu-amount').value === '20.00'`)

	// Usage the router reports moves the balance on the page, live (no
	// reload: the marker set on the window survives).
	p.eval(`window.__sameDocument = true`)
	postUsage(t, e, ws, "u1", 1) // 55 → 54
	p.waitFor("the balance after usage, pushed", `T.text('#balance-amount') === '$54.00' && window.__sameDocument === true`)
	postUsage(t, e, ws, "u2", 5) // 54 → 49: below 50, auto top-up adds 20
	p.waitFor("the auto top-up landed, pushed", `T.text('#balance-amount') === '$69.00' && window.__sameDocument === true`)
	p.waitFor("its row", `T.rowsText().startsWith('AUTO_TOP_UP SUCCEEDED 20.00 invoice|')`)

	// The history filtered by type.
	p.eval(`T.click('button[data-filter="PURCHASE"]')`)
	p.waitFor("purchases only", `T.$('#history').dataset.showing === 'PURCHASE' &&
		T.rowsText() === 'PURCHASE FAILED 10.00 -|PURCHASE FAILED 15.00 -|PURCHASE SUCCEEDED 30.00 invoice|PURCHASE SUCCEEDED 25.00 invoice'`)
	p.eval(`T.click('button[data-filter="AUTO_TOP_UP"]')`)
	p.waitFor("auto top-ups only", `T.$('#history').dataset.showing === 'AUTO_TOP_UP' && T.rowsText() === 'AUTO_TOP_UP SUCCEEDED 20.00 invoice'`)
	p.expect("the filter button pressed", `T.$('button[data-filter="AUTO_TOP_UP"]').getAttribute('aria-pressed') === 'true' && T.text('#history-count') === '1 of 1'`)
	shots.take(p, "credits-page-history-filtered.png")
	p.eval(`T.click('button[data-filter="ALL"]')`)
	p.waitFor("every type again", `T.rows().length === 5`)

	// Auto top-up on a card that declines: removing that card is refused
	// while auto top-up uses it; the next dip pauses auto top-up with the
	// decline as the last error.
	p.eval(`T.set('#add-card-pm', 'pm_card_chargeDeclined'); T.click('#add-card-button')`)
	p.waitFor("the declining card saved", `T.cards() === '4242*,3184,0002'`)
	p.eval(`delete T.$('#atu-form').dataset.saved; T.set('#atu-card', T.$('#card-list li[data-last4="0002"]').dataset.card); T.click('#atu-save')`)
	p.waitFor("auto top-up on that card", `T.$('#atu-form').dataset.saved && T.$('#atu-card').selectedOptions[0].text.endsWith('0002')`)
	p.eval(`T.click('#card-list li[data-last4="0002"] [data-action="remove"]'); T.click('#card-list li[data-last4="0002"] [data-action="remove"]')`)
	p.waitFor("the removal refused", `T.text('#cards-error') !== '' && T.cards() === '4242*,3184,0002'`)
	postUsage(t, e, ws, "u3", 20) // 69 → 49
	p.waitFor("auto top-up paused with the decline", `T.text('#atu-status') === 'PAUSED' && !T.$('#atu-last-error').hidden &&
		T.text('#atu-last-error').includes('declined')`)
	p.expect("no credit from the declined top-up", `T.text('#balance-amount') === '$49.00'`)

	if logs := p.errors(); len(logs) > 0 {
		t.Fatalf("the page logged errors:\n%s", strings.Join(logs, "\n"))
	}
}

// TestCreditsPage_SaysWhyItCannotConnect: a refused token, and an API
// that does not list the page's origin in CORS_ALLOWED_ORIGINS, are told
// apart on the page (the browser hides CORS refusals from scripts, so the
// page names the setting).
func TestCreditsPage_SaysWhyItCannotConnect(t *testing.T) {
	bin := requireChromium(t)
	pageSrv := httptest.NewServer(http.FileServer(http.Dir(creditsPageDir)))
	t.Cleanup(pageSrv.Close)
	db := pgtest.New(t)
	e := newEnvWith(t, db, func(o *app.Options) { o.CORSAllowedOrigins = []string{pageSrv.URL} })
	other := newEnvWith(t, db, nil) // another instance, no CORS origins
	_, owner := e.workspace("0")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := openChromium(ctx, t, bin)
	open := func(api, token string) {
		p.call("Page.navigate", map[string]any{"url": pageSrv.URL + "/?" + url.Values{"api": {api}, "token": {token}}.Encode()})
		p.waitFor("the page gave up", fmt.Sprintf(`new URLSearchParams(location.search).get('api') === %q && document.querySelector('#page')?.dataset.state === 'error'`, api))
		p.eval(pageHelpers + "; true")
	}
	open(e.srv.URL, "cr_not_a_token")
	p.expect("the token refused", `T.text('#notice') === 'The API refused this token.' && T.text('#balance-amount') === '—' && T.$('#add-credits-open').disabled`)
	open(other.srv.URL, owner)
	p.expect("the origin not allowed", `T.text('#notice').includes('CORS_ALLOWED_ORIGINS')`)
}

// postUsage reports dollars of gpt-4o output tokens ($1 per 100,000) for
// ws, as the router does.
func postUsage(t *testing.T, e *env, ws uuid.UUID, id string, dollars int) {
	t.Helper()
	var events []any
	for i := 0; i < dollars; i++ {
		events = append(events, usageEvent(ws, fmt.Sprintf("%s-%d", id, i), 100_000))
	}
	if code, body := e.post("/v1/usage", e.service, map[string]any{"events": events}); code != http.StatusOK || body["accepted"] != float64(dollars) {
		t.Fatalf("usage: %d %v", code, body)
	}
}

// pageHelpers are the few DOM helpers the steps use; a missing element is
// an error naming its selector.
const pageHelpers = `window.T = {
	$(sel) { return document.querySelector(sel); },
	must(sel) { const e = document.querySelector(sel); if (!e) throw new Error('no element ' + sel); return e; },
	set(sel, v) { const e = T.must(sel); e.value = v; if (e.value !== v) throw new Error(sel + ' has no option ' + v);
		e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); },
	check(sel, on) { const e = T.must(sel); if (e.checked !== on) e.click(); },
	click(sel) { T.must(sel).click(); },
	text(sel) { const e = document.querySelector(sel); return e ? e.textContent.trim() : null; },
	rows() { return [...document.querySelectorAll('#history-rows tr')].map((tr) => ({ ...tr.dataset, cells: [...tr.cells].map((c) => c.innerText.trim()), link: !!tr.querySelector('a.download') })); },
	// "TYPE STATUS AMOUNT invoice|…", newest first ("-" for no invoice link).
	rowsText() { return T.rows().map((r) => [r.type, r.status, r.amount, r.link ? 'invoice' : '-'].join(' ')).join('|'); },
	// "4242*,4444": saved cards by last 4, * marks the default.
	cards() { return [...document.querySelectorAll('#card-list li')].map((li) => li.dataset.last4 + (li.dataset.default === 'true' ? '*' : '')).join(','); },
};`

// screenshots captures the page; with CREDITS_PAGE_SCREENSHOTS set they
// are written to docs/ as well.
type screenshots struct {
	t   *testing.T
	dir string
}

func newScreenshots(t *testing.T) *screenshots {
	dir := t.TempDir()
	if os.Getenv(screenshotsEnv) != "" {
		dir = filepath.Join("..", "docs")
	}
	return &screenshots{t: t, dir: dir}
}

func (s *screenshots) take(p *chromePage, name string) {
	s.t.Helper()
	// Let the last render and the fonts settle: a frame, then the image.
	p.eval(`document.fonts.ready.then(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))`)
	height, _ := p.eval(`Math.ceil(document.documentElement.scrollHeight)`).(float64)
	res := p.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": 1200, "height": max(height, 900), "scale": 1}})
	var shot struct{ Data string }
	if err := json.Unmarshal(res, &shot); err != nil {
		s.t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		s.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() != 1200 {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, name), raw, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// chromePage is one Chromium tab over the DevTools protocol: commands are
// answered in order of their ids; console errors and uncaught exceptions
// are kept for the failure report.
type chromePage struct {
	t    *testing.T
	ctx  context.Context
	conn *websocket.Conn

	mu      sync.Mutex
	id      int
	replies map[int]chan cdpMessage
	logs    []string
}

type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// openChromium starts headless Chromium with a fresh profile and returns
// its first tab, with the Page and Runtime domains on.
func openChromium(ctx context.Context, t *testing.T, bin string) *chromePage {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// A fresh profile, removed after Chromium and its helper processes
	// (one process group) are gone.
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir="+profile, fmt.Sprintf("--remote-debugging-port=%d", port), "about:blank")
	if os.Getenv("CHROMIUM_VERBOSE") != "" {
		cmd.Stderr = os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait() //nolint:errcheck // killed on purpose
		os.RemoveAll(profile)
	})

	conn, _, err := websocket.Dial(ctx, devtoolsPage(ctx, t, port), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(64 << 20) // full-page screenshots
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	p := &chromePage{t: t, ctx: ctx, conn: conn, replies: map[int]chan cdpMessage{}}
	go p.read()
	p.call("Page.enable", nil)
	p.call("Runtime.enable", nil)
	return p
}

func (p *chromePage) read() {
	for {
		var m cdpMessage
		if err := wsjson.Read(p.ctx, p.conn, &m); err != nil {
			return
		}
		p.mu.Lock()
		if m.ID != 0 {
			if ch := p.replies[m.ID]; ch != nil {
				ch <- m
				delete(p.replies, m.ID)
			}
		} else if line := consoleLine(m); line != "" {
			p.logs = append(p.logs, line)
		}
		p.mu.Unlock()
	}
}

// consoleLine describes a console error or an uncaught exception ("" for
// other events).
func consoleLine(m cdpMessage) string {
	switch m.Method {
	case "Runtime.exceptionThrown":
		var ev struct {
			ExceptionDetails struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		json.Unmarshal(m.Params, &ev) //nolint:errcheck // best effort, for a report
		return "exception: " + ev.ExceptionDetails.Text + " " + ev.ExceptionDetails.Exception.Description
	case "Runtime.consoleAPICalled":
		var ev struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		json.Unmarshal(m.Params, &ev) //nolint:errcheck // best effort, for a report
		if ev.Type != "error" && ev.Type != "warning" {
			return ""
		}
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, fmt.Sprint(a.Value)+a.Description)
		}
		return "console." + ev.Type + ": " + strings.Join(parts, " ")
	}
	return ""
}

// errors are the console errors and exceptions so far.
func (p *chromePage) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logs...)
}

// call sends one command and returns its result.
func (p *chromePage) call(method string, params any) json.RawMessage {
	p.t.Helper()
	p.mu.Lock()
	p.id++
	id := p.id
	reply := make(chan cdpMessage, 1)
	p.replies[id] = reply
	p.mu.Unlock()
	if err := wsjson.Write(p.ctx, p.conn, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		p.t.Fatalf("%s: %v", method, err)
	}
	select {
	case m := <-reply:
		if m.Error != nil {
			p.t.Fatalf("%s: %s", method, m.Error.Message)
		}
		return m.Result
	case <-p.ctx.Done():
		p.t.Fatalf("%s: no answer from Chromium (%v)", method, p.ctx.Err())
		return nil
	}
}

// eval evaluates expr in the page (awaiting a promise) and returns its
// value; a thrown error fails the test.
func (p *chromePage) eval(expr string) any {
	p.t.Helper()
	res := p.call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true})
	var out struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		p.t.Fatal(err)
	}
	if out.ExceptionDetails != nil {
		p.t.Fatalf("in the page: %s\n%s", out.ExceptionDetails.Exception.Description, expr)
	}
	return out.Result.Value
}

// expect checks cond now.
func (p *chromePage) expect(what, cond string) {
	p.t.Helper()
	if p.eval("Boolean("+cond+")") != true {
		p.t.Fatalf("%s: not so\n%s", what, p.report())
	}
}

// waitFor polls cond until it holds: the page works asynchronously (API
// calls, pushed balances). The bound only keeps a broken page from
// hanging the suite; it is not a measure of speed.
func (p *chromePage) waitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v := p.eval("(() => { try { return Boolean(" + cond + "); } catch (e) { return false; } })()"); v == true {
			return
		}
		if time.Now().After(deadline) || p.ctx.Err() != nil {
			p.t.Fatalf("%s: never happened\n%s", what, p.report())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// report is what the page shows, and what it logged, for a failure.
func (p *chromePage) report() string {
	text, _ := p.eval(`document.body.innerText + (document.querySelector('dialog[open]') ? '\n[open dialog] ' + document.querySelector('dialog[open]').innerText : '')`).(string)
	return "page text:\n" + text + "\nconsole:\n" + strings.Join(p.errors(), "\n")
}
