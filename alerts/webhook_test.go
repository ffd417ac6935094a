package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/alerts/alertstest"
)

// endpoint registers the receiver's URL for ws (the service allows loopback).
func endpoint(t testing.TB, a *alerts.Service, ws uuid.UUID, r *alertstest.Receiver) alerts.Endpoint {
	t.Helper()
	ep, secret, err := a.CreateWebhookEndpoint(context.Background(), ws, r.URL+"/hooks/credits")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	r.SetSecret(secret)
	return ep
}

func TestWebhook_DeliveryIsSignedPerStandardWebhooks(t *testing.T) {
	h := newHarness(t)
	recv := alertstest.NewReceiver(t)
	worker := h.alerts(t, alerts.Config{AllowPrivate: true})
	ws := h.workspace(t, "12.00", "10.00")
	endpoint(t, worker, ws, recv)
	h.debit(t, ws, "3.75")

	runOnce(t, worker)
	reqs := recv.Requests()
	if len(reqs) != 1 || !reqs[0].Verified || len(recv.Unverified()) != 0 {
		t.Fatalf("requests %+v", reqs)
	}
	r := reqs[0]
	if r.Timestamp != strconv.FormatInt(h.clock.Now().Unix(), 10) || !strings.HasPrefix(r.Header.Get("webhook-signature"), "v1,") ||
		r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", r.Header)
	}
	var body struct {
		Type      string
		Timestamp time.Time
		Data      map[string]any
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "balance.low" || body.Data["balance"] != "8.25" || body.Data["threshold"] != "10.00" || body.Data["currency"] != "USD" ||
		body.Data["workspace_id"] != ws.String() || body.Data["workspace_name"] != "Acme Research" || r.ID != "evt_"+eventID(t, h, ws, "balance.low").String() {
		t.Fatalf("body %s, id %s", r.Body, r.ID)
	}
	t.Logf("verified with the Standard Webhooks reference library:\nwebhook-id: %s\nwebhook-timestamp: %s\nwebhook-signature: %s\n\n%s",
		r.ID, r.Timestamp, r.Header.Get("webhook-signature"), r.Body)
}

func eventID(t testing.TB, h *harness, ws uuid.UUID, typ string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := h.db.SQL.QueryRow(`SELECT id FROM alert_events WHERE workspace_id = $1 AND type = $2`, ws, typ).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestWebhook_RetriesAfter500sWithBackoffAndDeliversEachEventOnce(t *testing.T) {
	h := newHarness(t)
	recv := alertstest.NewReceiver(t)
	recv.Respond = func(_ string, attempt int) int {
		if attempt <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}
	worker := h.alerts(t, alerts.Config{AllowPrivate: true, Backoff: time.Minute})
	ws := h.workspace(t, "12.00", "10.00")
	ep := endpoint(t, worker, ws, recv)
	h.debit(t, ws, "13") // low and depleted: two events

	if n := runOnce(t, worker); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
	if n := runOnce(t, worker); n != 0 {
		t.Fatalf("%d attempts before the backoff ended", n)
	}
	h.clock.Advance(time.Minute) // first backoff: 1 min
	if n := runOnce(t, worker); n != 2 {
		t.Fatalf("%d second attempts, want 2", n)
	}
	h.clock.Advance(time.Minute)
	if n := runOnce(t, worker); n != 0 {
		t.Fatal("the backoff did not double")
	}
	h.clock.Advance(time.Minute) // second backoff: 2 min
	if n := runOnce(t, worker); n != 2 {
		t.Fatalf("%d third attempts, want 2", n)
	}
	h.clock.Advance(30 * time.Hour)
	if n := runOnce(t, worker); n != 0 {
		t.Fatal("a delivered event was sent again")
	}
	acked := recv.Acked()
	if len(acked) != 2 || len(recv.Requests()) != 6 || len(recv.Unverified()) != 0 {
		t.Fatalf("acked %v after %d requests", acked, len(recv.Requests()))
	}
	bodies := map[string]string{}
	for _, r := range recv.Requests() {
		if acked[r.ID] != 1 {
			t.Fatalf("event %s acknowledged %d times", r.ID, acked[r.ID])
		}
		if b, seen := bodies[r.ID]; seen && b != string(r.Body) {
			t.Fatalf("a retry of %s sent another body", r.ID)
		}
		bodies[r.ID] = string(r.Body)
	}
	page, err := worker.WebhookDeliveries(context.Background(), ws, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Deliveries) != 2 {
		t.Fatalf("%d deliveries in the log", len(page.Deliveries))
	}
	for _, d := range page.Deliveries {
		if d.State != "delivered" || d.Attempts != 3 || d.LastStatus != 204 || d.LastError != "" || d.DeliveredAt == nil || *d.EndpointID != ep.ID {
			t.Fatalf("delivery log entry %+v", d)
		}
	}
}

func TestWebhook_GivesUpAfterADayAndMarksTheEndpointFailingUntilASuccess(t *testing.T) {
	h := newHarness(t)
	recv := alertstest.NewReceiver(t)
	down := true
	var mu sync.Mutex
	recv.Respond = func(string, int) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	worker := h.alerts(t, alerts.Config{AllowPrivate: true})
	ws := h.workspace(t, "12.00", "10.00")
	endpoint(t, worker, ws, recv)
	h.debit(t, ws, "3")
	runOnce(t, worker)
	for i := 0; i < 200 && h.count(t, `SELECT count(*) FROM alert_deliveries WHERE state = 'pending'`) > 0; i++ {
		h.clock.Advance(10 * time.Minute)
		runOnce(t, worker)
	}
	var state, lastError string
	var n int
	if err := h.db.SQL.QueryRow(`SELECT state, attempts, last_error FROM alert_deliveries`).Scan(&state, &n, &lastError); err != nil {
		t.Fatal(err)
	}
	// 30 s, 1, 2, 4, 8, 16, 32 min, then hourly, the last at the 24 h mark.
	if state != "failed" || n < 20 || n > 40 || lastError != "HTTP 503" {
		t.Fatalf("after a day of 503s: state %s, %d attempts, last error %q", state, n, lastError)
	}
	eps, _ := worker.WebhookEndpoints(context.Background(), ws)
	if eps[0].FailingSince == nil {
		t.Fatal("the endpoint is not marked failing")
	}
	mu.Lock()
	down = false
	mu.Unlock()
	h.debit(t, ws, "20") // depleted: a new event
	runOnce(t, worker)
	if eps, _ = worker.WebhookEndpoints(context.Background(), ws); eps[0].FailingSince != nil {
		t.Fatal("a successful delivery did not clear failing")
	}
}

func TestWorker_ConcurrentWorkersSendEachDeliveryOnce(t *testing.T) {
	h := newHarness(t)
	recv := alertstest.NewReceiver(t)
	workers := []*alerts.Service{h.alerts(t, alerts.Config{AllowPrivate: true}), h.alerts(t, alerts.Config{AllowPrivate: true}),
		h.alerts(t, alerts.Config{AllowPrivate: true})}
	const spaces = 10
	var secret string
	for i := 0; i < spaces; i++ {
		ws := h.workspace(t, "12.00", "10.00")
		_, s, err := workers[0].CreateWebhookEndpoint(context.Background(), ws, recv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if secret == "" {
			secret = s
		}
		// One receiver, one secret: re-key the endpoint for the test.
		if _, err := h.db.SQL.Exec(`UPDATE webhook_endpoints SET secret = $1 WHERE workspace_id = $2`, secret, ws); err != nil {
			t.Fatal(err)
		}
		h.debit(t, ws, "13") // low + depleted
	}
	recv.SetSecret(secret)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func(w *alerts.Service) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				if _, err := w.RunOnce(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	if got := len(recv.Requests()); got != 2*spaces {
		t.Fatalf("%d requests for %d events", got, 2*spaces)
	}
	for id, n := range recv.Acked() {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
}

func TestCreateWebhookEndpoint_RefusesUnsafeURLs(t *testing.T) {
	h := newHarness(t)
	strict := h.alerts(t, alerts.Config{})
	dev := h.alerts(t, alerts.Config{AllowPrivate: true})
	ws := h.workspace(t, "1", "0")
	for _, tc := range []struct {
		url       string
		strict    bool // accepted without AllowPrivate
		dev       bool // accepted with it
		whyRefuse string
	}{
		{"https://hooks.acme.example/credits", true, true, ""},
		{"https://hooks.acme.example:8443/credits?x=1", true, true, ""},
		{"http://hooks.acme.example/credits", false, false, "https"},
		{"https://127.0.0.1/", false, true, "private"},
		{"https://localhost:9000/", false, true, "private"},
		{"http://127.0.0.1:9000/", false, true, "https"},
		{"http://localhost:9000/", false, true, "https"},
		{"http://10.0.0.7/", false, false, "https"},
		{"https://10.0.0.7/", false, true, "private"},
		{"https://172.16.0.1/", false, true, "private"},
		{"https://192.168.1.1/", false, true, "private"},
		{"https://169.254.169.254/latest/meta-data/", false, false, "link-local"},
		{"https://[::1]/", false, true, "private"},
		{"https://[fe80::1]/", false, false, "link-local"},
		{"https://[::ffff:127.0.0.1]/", false, true, "private"},
		{"https://100.64.0.1/", false, true, "private"},
		{"https://0.0.0.0/", false, true, "private"},
		{"https://user:pw@hooks.acme.example/", false, false, "credentials"},
		{"https://hooks.acme.example/#frag", false, false, "fragment"},
		{"ftp://hooks.acme.example/", false, false, "https"},
		{"hooks.acme.example/credits", false, false, "absolute"},
		{"https:///nohost", false, false, "absolute"},
		{"https://hooks.acme.example:99999/", false, false, "port"},
		{"https://hooks.acme.example/\x00", false, false, "control"},
		{"https://hooks.acme.example/\xff", false, false, "UTF-8"},
		{"https://hooks.acme.example/" + strings.Repeat("a", 3000), false, false, "longer"},
	} {
		t.Run(tc.url[:min(len(tc.url), 50)], func(t *testing.T) {
			if _, err := h.db.SQL.Exec(`DELETE FROM webhook_endpoints`); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				svc  *alerts.Service
				want bool
			}{{strict, tc.strict}, {dev, tc.dev}} {
				_, _, err := c.svc.CreateWebhookEndpoint(context.Background(), ws, tc.url)
				if c.want != (err == nil) {
					t.Fatalf("accepted=%v (err %v), want %v", err == nil, err, c.want)
				}
				if err != nil && (!strings.Contains(err.Error(), tc.whyRefuse) || err.(*alerts.Error).Code != alerts.CodeBadUserInput) {
					t.Fatalf("refused with %v, want a BAD_USER_INPUT mentioning %q", err, tc.whyRefuse)
				}
			}
		})
	}
}

// TestWebhook_ConnectTimeGuardRefusesLoopbackEvenByHostname registers
// endpoints as development allows, then delivers without AllowPrivate: a
// literal loopback address and a hostname that resolves to one are both
// refused when the socket is about to connect, and nothing arrives.
func TestWebhook_ConnectTimeGuardRefusesLoopbackEvenByHostname(t *testing.T) {
	h := newHarness(t)
	hits := 0
	var mu sync.Mutex
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer target.Close()
	dev := h.alerts(t, alerts.Config{AllowPrivate: true})
	ws := h.workspace(t, "12.00", "10.00")
	port := target.URL[strings.LastIndexByte(target.URL, ':'):]
	for _, u := range []string{"https://127.0.0.1" + port + "/", "https://localhost" + port + "/"} {
		if _, _, err := dev.CreateWebhookEndpoint(context.Background(), ws, u); err != nil {
			t.Fatal(err)
		}
	}
	h.debit(t, ws, "3")
	strict := h.alerts(t, alerts.Config{})
	if n := runOnce(t, strict); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
	rows, err := h.db.SQL.Query(`SELECT target, state, last_error FROM alert_deliveries WHERE workspace_id = $1`, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var target, state, lastError string
		if err := rows.Scan(&target, &state, &lastError); err != nil {
			t.Fatal(err)
		}
		if state != "pending" || !strings.Contains(lastError, "not a public address") || !strings.Contains(lastError, "127.0.0.1") {
			t.Errorf("%s: state %s, last error %q", target, state, lastError)
		}
	}
	if hits != 0 {
		t.Fatalf("the loopback server was reached %d times", hits)
	}
}

func TestWebhook_RedirectsAreNotFollowed(t *testing.T) {
	h := newHarness(t)
	elsewhere := alertstest.NewReceiver(t)
	redirector := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/stolen", http.StatusTemporaryRedirect))
	defer redirector.Close()
	worker := h.alerts(t, alerts.Config{AllowPrivate: true})
	ws := h.workspace(t, "12.00", "10.00")
	if _, _, err := worker.CreateWebhookEndpoint(context.Background(), ws, redirector.URL); err != nil {
		t.Fatal(err)
	}
	h.debit(t, ws, "3")
	runOnce(t, worker)
	var status int
	var lastError string
	if err := h.db.SQL.QueryRow(`SELECT last_status, last_error FROM alert_deliveries WHERE workspace_id = $1`, ws).Scan(&status, &lastError); err != nil {
		t.Fatal(err)
	}
	if status != http.StatusTemporaryRedirect || !strings.Contains(lastError, "redirects are not followed") || len(elsewhere.Requests()) != 0 {
		t.Fatalf("status %d, error %q, redirect target hit %d times", status, lastError, len(elsewhere.Requests()))
	}
}

func TestDeleteWebhookEndpoint_CancelsItsPendingDeliveriesAndOnlyInItsWorkspace(t *testing.T) {
	h := newHarness(t)
	recv := alertstest.NewReceiver(t)
	recv.Respond = func(string, int) int { return http.StatusInternalServerError }
	worker := h.alerts(t, alerts.Config{AllowPrivate: true})
	ctx := context.Background()
	a := h.workspace(t, "12.00", "10.00")
	b := h.workspace(t, "12.00", "10.00")
	epA := endpoint(t, worker, a, recv)
	h.debit(t, a, "3")
	runOnce(t, worker)
	if err := worker.DeleteWebhookEndpoint(ctx, b, epA.ID); err == nil || err.(*alerts.Error).Code != alerts.CodeNotFound {
		t.Fatalf("workspace B deleted A's endpoint: %v", err)
	}
	if err := worker.DeleteWebhookEndpoint(ctx, a, epA.ID); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	if n := runOnce(t, worker); n != 0 {
		t.Fatalf("%d attempts to a deleted endpoint", n)
	}
	page, err := worker.WebhookDeliveries(ctx, a, 0, "")
	if err != nil || len(page.Deliveries) != 1 || page.Deliveries[0].State != "canceled" {
		t.Fatalf("delivery log after delete: %+v %v", page, err)
	}
}

func TestCreateWebhookEndpoint_ConcurrentCreatesStopAtTheLimit(t *testing.T) {
	h := newHarness(t)
	worker := h.alerts(t, alerts.Config{})
	ws := h.workspace(t, "1", "0")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			worker.CreateWebhookEndpoint(context.Background(), ws, fmt.Sprintf("https://hooks.acme.example/%d", i)) //nolint:errcheck // counted below
		}(i)
	}
	wg.Wait()
	if n := h.count(t, `SELECT count(*) FROM webhook_endpoints WHERE workspace_id = $1`, ws); n != alerts.MaxEndpoints {
		t.Fatalf("%d endpoints after 20 concurrent creations, want %d", n, alerts.MaxEndpoints)
	}
}

func TestWebhookDeliveries_PagesNewestFirstAndRefusesForgedCursors(t *testing.T) {
	h := newHarness(t)
	recv := alertstest.NewReceiver(t)
	worker := h.alerts(t, alerts.Config{AllowPrivate: true})
	ctx := context.Background()
	ws := h.workspace(t, "100.00", "99.00")
	endpoint(t, worker, ws, recv)
	for i := 0; i < 5; i++ { // each debit crosses again: 5 balance.low events
		h.debit(t, ws, "2")
		if _, err := h.billing.Grant(ctx, ws, usd(t, "2"), "back", ""); err != nil {
			t.Fatal(err)
		}
		runOnce(t, worker)
		h.clock.Advance(time.Second)
	}
	seen := map[uuid.UUID]bool{}
	after := ""
	var last time.Time
	for pages := 0; ; pages++ {
		page, err := worker.WebhookDeliveries(ctx, ws, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Deliveries {
			if seen[d.ID] || (!last.IsZero() && d.CreatedAt.After(last)) {
				t.Fatalf("page %d repeats or is out of order", pages)
			}
			seen[d.ID], last = true, d.CreatedAt
		}
		if !page.HasNext {
			break
		}
		after = page.Cursors[len(page.Cursors)-1]
	}
	if len(seen) != 5 {
		t.Fatalf("%d deliveries over all pages, want 5", len(seen))
	}
	for _, bad := range []string{"nonsense", "bm90LWEtY3Vyc29y", "OTk5OTk5OTk5OTk5OTk5OTk5OTpub3QtYS11dWlk"} {
		if _, err := worker.WebhookDeliveries(ctx, ws, 2, bad); err == nil || err.(*alerts.Error).Code != alerts.CodeBadUserInput {
			t.Fatalf("cursor %q: %v", bad, err)
		}
	}
	for _, first := range []int{-1, alerts.MaxPageSize + 1} {
		if _, err := worker.WebhookDeliveries(ctx, ws, first, ""); err == nil {
			t.Fatalf("first %d accepted", first)
		}
	}
}

func TestSetNotificationSettings_RefusesBadThresholdsAndEmails(t *testing.T) {
	h := newHarness(t)
	a := h.alerts(t, alerts.Config{})
	ws := h.workspace(t, "1", "0")
	ctx := context.Background()
	threshold := func(s string) *alerts.NotificationSettings {
		v := usd(t, s)
		return &alerts.NotificationSettings{LowBalanceThreshold: &v}
	}
	emails := func(e ...string) *alerts.NotificationSettings { return &alerts.NotificationSettings{Emails: e} }
	tooMany := make([]string, alerts.MaxEmails+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("a%d@acme.example", i)
	}
	for name, in := range map[string]*alerts.NotificationSettings{
		"negative threshold":       threshold("-1"),
		"sub-cent threshold":       threshold("1.001"),
		"huge threshold":           threshold("1000000.01"),
		"header injection":         emails("a@acme.example\r\nBcc: b@else.example"),
		"display name":             emails("Finance <a@acme.example>"),
		"no domain dot":            emails("a@localhost"),
		"not an address":           emails("finance"),
		"NUL":                      emails("a\x00@acme.example"),
		"invalid UTF-8":            emails("a\xff@acme.example"),
		"too many":                 emails(tooMany...),
		"too long":                 emails(strings.Repeat("a", 250) + "@acme.example"),
		"two addresses in one":     emails("a@acme.example, b@acme.example"),
		"max int64 nano threshold": threshold("9223372036.854775807"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := a.SetNotificationSettings(ctx, ws, *in); err == nil || err.(*alerts.Error).Code != alerts.CodeBadUserInput {
				t.Fatalf("accepted, or refused with %v", err)
			}
		})
	}
	got, err := a.SetNotificationSettings(ctx, ws, alerts.NotificationSettings{Emails: []string{" a@acme.example ", "A@acme.example", "b@acme.example"}})
	if err != nil || got.LowBalanceThreshold != nil || strings.Join(got.Emails, ",") != "a@acme.example,b@acme.example" {
		t.Fatalf("settings %+v, %v", got, err)
	}
}
