package server_test

// Issue 16: abuse resistance at the edge. One test (or more) per item,
// named after it; none asserts on time.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/google/uuid"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/pgtest"
	"github.com/airouter/credits/server"
)

// repeated is { balance{amount} balance{amount} … }, the issue's query.
func repeated(n int) string { return "{" + strings.Repeat(" balance{amount}", n) + " }" }

// chained is n fragments each spreading the next.
func chained(n int) string {
	var b strings.Builder
	b.WriteString("{ ...f0 }")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, " fragment f%d on Query { balance { amount }", i)
		if i+1 < n {
			fmt.Fprintf(&b, " ...f%d", i+1)
		}
		b.WriteString(" }")
	}
	return b.String()
}

func aliased(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, " a%d: __typename", i)
	}
	b.WriteString(" }")
	return b.String()
}

// 16.1: the documents that burned seconds of CPU are refused before
// validation, with or without a token; ordinary ones still run.
func TestIssue16_1_HugeDocumentsAreRefusedBeforeValidation(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("1")
	for _, tc := range []struct {
		name, query string
		code        string // "" = answered
	}{
		{"4,000 repeats of one field", repeated(4000), "QUERY_TOO_LARGE"},
		{"400 repeats (under the token limit, over the selections)", repeated(400), "QUERY_TOO_LARGE"},
		{"2,000 chained fragments", chained(2000), "QUERY_TOO_LARGE"},
		{"60 chained fragments", chained(60), "QUERY_TOO_LARGE"},
		{"150 aliases", aliased(150), "QUERY_TOO_LARGE"},
		{"20 repeats", repeated(20), ""},
		{"10 chained fragments", chained(10), ""},
	} {
		for _, token := range []string{"", owner} {
			name := tc.name + map[bool]string{true: ", anonymous", false: ", owner"}[token == ""]
			t.Run(name, func(t *testing.T) {
				status, body := e.post("/graphql", token, map[string]any{"query": tc.query})
				_, codes := gqlResult(body)
				want := tc.code
				if want == "" && token == "" {
					want = "UNAUTHENTICATED" // anonymous: introspection only
				}
				switch {
				case want == "" && (len(codes) != 0 || dig(body, "data", "balance", "amount") != "1.00"):
					t.Fatalf("%d %v", status, body)
				case want != "" && (!slices.Equal(codes, []string{want}) || status != http.StatusOK):
					t.Fatalf("want %s with 200: %d %v", want, status, codes)
				case want != "" && body["data"] != nil:
					t.Fatalf("a refused request carries data: %v", body)
				}
			})
		}
	}
}

// 16.1: an anonymous request may run introspection (the playground's
// schema fetch) and nothing else; the refusal comes before validation,
// so an anonymous client cannot make the server validate big documents.
func TestIssue16_1_AnonymousRequestsMayOnlyIntrospect(t *testing.T) {
	e := newEnv(t)
	for query, want := range map[string][]string{
		`{ __typename }`:                                      nil,
		`{ __schema { queryType { name } } }`:                 nil,
		`{ __type(name: "Balance") { name } }`:                nil,
		`query Q { ...F } fragment F on Query { __typename }`: nil,
		`{ __typename balance { amount } }`:                   {"UNAUTHENTICATED"},
		`mutation { createSetupIntent { clientSecret } }`:     {"UNAUTHENTICATED"},
		`{ modelPrices { model } }`:                           {"UNAUTHENTICATED"},
	} {
		_, body := e.post("/graphql", "", map[string]any{"query": query})
		if _, codes := gqlResult(body); !slices.Equal(codes, want) {
			t.Errorf("%s: %v, want %v", query, codes, want)
		}
	}
	// With introspection off, nothing anonymous is even parsed.
	off := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.Limits.Introspection = false })
	if _, body := off.post("/graphql", "", map[string]any{"query": `{ __typename }`}); !slices.Equal(codesOf(body), []string{"UNAUTHENTICATED"}) {
		t.Errorf("anonymous with introspection off: %v", body)
	}
}

func codesOf(body map[string]any) []string { _, c := gqlResult(body); return c }

// 16.1: a client that hangs up mid-body leaves no work behind: its
// request fails reading the body, and the server keeps answering.
func TestIssue16_1_AClientThatHangsUpLeavesNoWorkBehind(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("1")
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 600000\r\n\r\n{\"query\":\"%s", strings.Repeat(" balance{amount}", 2000))
		conn.Close()
	}
	// Decided on the count the wait ended on: a second count could catch
	// short-lived goroutines the first did not (a leak check of the
	// subscriptions failed CI that way).
	deadline := time.Now().Add(10 * time.Second)
	n := runtime.NumGoroutine()
	for n > before+5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before+5 {
		t.Fatalf("%d goroutines after 20 clients hung up (%d before)", n, before)
	}
	if _, codes := e.gql(owner, balanceQuery, nil); len(codes) != 0 {
		t.Fatal(codes)
	}
}

// wsConn is a raw graphql-transport-ws connection.
type wsConn struct {
	t    *testing.T
	conn *websocket.Conn
}

func (e *env) wsDial(t *testing.T, token string) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	payload := map[string]any{}
	if token != "" {
		payload["Authorization"] = "Bearer " + token
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsConn{t: t, conn: conn}
}

// read returns the next message, or the close status that ended the
// connection (-1 while open).
func (w *wsConn) read(timeout time.Duration) (map[string]any, websocket.StatusCode) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var m map[string]any
	err := wsjson.Read(ctx, w.conn, &m)
	if err != nil {
		return nil, websocket.CloseStatus(err)
	}
	return m, -1
}

// until reads until a message of type typ with id (or the close).
func (w *wsConn) until(typ, id string, timeout time.Duration) (map[string]any, websocket.StatusCode) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m, code := w.read(time.Until(deadline))
		if code != -1 {
			return nil, code
		}
		if m["type"] == typ && (id == "" || m["id"] == id) {
			return m, -1
		}
	}
	return nil, -1
}

func (w *wsConn) send(id, query string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, w.conn, map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}}); err != nil {
		w.t.Fatal(err)
	}
}

// 16.3: a bad token ends the connection with the protocol's 4401/4403,
// which the reference client reports instead of reconnecting.
func TestIssue16_3_BadTokensCloseTheSocketWith4401Or4403(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ws, _ := e.workspace("1")
	revoked, id, err := e.tokens.Create(ctx, ws, auth.RoleMember, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.tokens.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	expired, _, err := e.tokens.Create(ctx, ws, auth.RoleMember, &past)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		token string
		code  websocket.StatusCode
	}{
		"no token":      {"", 4401},
		"unknown token": {"cr_" + strings.Repeat("x", 43), 4401},
		"NUL bytes":     {"cr_\x00\x00", 4401},
		"service token": {e.service, 4403},
		"revoked token": {revoked, 4403},
		"expired token": {expired, 4403},
	} {
		t.Run(name, func(t *testing.T) {
			c := e.wsDial(t, tc.token)
			if m, code := c.until("connection_ack", "", 10*time.Second); code != tc.code {
				t.Fatalf("closed with %d (message %v), want %d", code, m, tc.code)
			}
		})
	}
}

// 16.2: revoking a token closes its open sockets with 4403 (within the
// token cache's staleness bound; here the revoke is on this instance, so
// at the next re-check), and an operation sent after the revoke is refused.
func TestIssue16_2_RevokedAndExpiredTokensCloseOpenSockets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ws, _ := e.workspace("1")
	raw, id, err := e.tokens.Create(ctx, ws, auth.RoleOwner, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.wsDial(t, raw)
	if _, code := c.until("connection_ack", "", 5*time.Second); code != -1 {
		t.Fatalf("closed with %d", code)
	}
	c.send("1", "subscription { balanceUpdated { amount } }")
	if m, _ := c.until("next", "1", 5*time.Second); m == nil {
		t.Fatal("no first balance")
	}
	if err := e.tokens.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	// A purchase sent right after the revoke must not run.
	c.send("2", `mutation { createSetupIntent { clientSecret } }`)
	for {
		m, code := c.read(15 * time.Second)
		if code != -1 {
			if code != 4403 {
				t.Fatalf("closed with %d, want 4403", code)
			}
			break
		}
		if m == nil {
			t.Fatal("the socket stayed open 15 s after its token was revoked")
		}
		if m["id"] == "2" && m["type"] == "next" && dig(m, "payload", "data", "createSetupIntent") != nil {
			t.Fatalf("a mutation ran after the revoke: %v", m)
		}
	}

	// An expiring member token: its socket closes once it expires.
	soon := time.Now().Add(1500 * time.Millisecond)
	member, _, err := e.tokens.Create(ctx, ws, auth.RoleMember, &soon)
	if err != nil {
		t.Fatal(err)
	}
	m := e.wsDial(t, member)
	if _, code := m.until("connection_ack", "", 5*time.Second); code != -1 {
		t.Fatalf("closed with %d", code)
	}
	if _, code := m.until("never", "", 15*time.Second); code != 4403 {
		t.Fatalf("an expired token's socket: close %d, want 4403", code)
	}
}

// 16.2: a token revoked on another instance closes the socket within the
// token cache's staleness bound (auth.DefaultCacheTTL) plus one re-check.
func TestIssue16_2_ARevokeOnAnotherInstanceClosesTheSocket(t *testing.T) {
	a := newEnv(t)
	b := newEnvOn(t, a.db)
	ctx := context.Background()
	ws, _ := a.workspace("1")
	raw, id, err := a.tokens.Create(ctx, ws, auth.RoleMember, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := a.wsDial(t, raw)
	if _, code := c.until("connection_ack", "", 5*time.Second); code != -1 {
		t.Fatalf("closed with %d", code)
	}
	if err := b.tokens.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, code := c.until("never", "", auth.DefaultCacheTTL+10*time.Second); code != 4403 {
		t.Fatalf("a socket on instance a after a revoke on b: close %d, want 4403", code)
	}
}

// 16.4: the mutation limit is per token whatever the transport: mutations
// on a socket spend the same budget as over HTTP.
func TestIssue16_4_MutationsOverAWebSocketAreRateLimited(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.MutationsPerSecond, d.MutationBurst = 0.01, 3 })
	_, owner := e.workspace("0")
	c := e.wsDial(t, owner)
	if _, code := c.until("connection_ack", "", 5*time.Second); code != -1 {
		t.Fatalf("closed with %d", code)
	}
	var ok, limited int
	for i := 0; i < 10; i++ {
		id := fmt.Sprint(i)
		c.send(id, `mutation { createSetupIntent { clientSecret } }`)
		m, code := c.until("next", id, 10*time.Second)
		if m == nil {
			t.Fatalf("mutation %d: no answer (close %d)", i, code)
		}
		_, codes := gqlResult(dig(m, "payload").(map[string]any))
		switch {
		case len(codes) == 0:
			ok++
		case slices.Equal(codes, []string{"RATE_LIMITED"}):
			limited++
		default:
			t.Fatalf("mutation %d: %v", i, codes)
		}
	}
	if ok != 3 || limited != 7 {
		t.Fatalf("%d mutations ran and %d were limited on one socket; want 3 and 7", ok, limited)
	}
	// The same token over HTTP has no budget left either.
	if status, body := e.post("/graphql", owner, map[string]any{"query": `mutation { createSetupIntent { clientSecret } }`}); status != http.StatusTooManyRequests || !slices.Equal(codesOf(body), []string{"RATE_LIMITED"}) {
		t.Fatalf("over HTTP after the socket spent the budget: %d %v", status, body)
	}
}

// 16.5: subscriptions per socket and sockets per token are capped.
func TestIssue16_5_SubscriptionsAndSocketsAreCapped(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.Limits.SubscriptionsPerSocket, d.Limits.SocketsPerToken = 3, 2 })
	_, owner := e.workspace("2")
	c := e.wsDial(t, owner)
	if _, code := c.until("connection_ack", "", 5*time.Second); code != -1 {
		t.Fatalf("closed with %d", code)
	}
	for i := 0; i < 3; i++ {
		c.send(fmt.Sprint(i), "subscription { balanceUpdated { amount } }")
		if m, _ := c.until("next", fmt.Sprint(i), 5*time.Second); m == nil {
			t.Fatalf("subscription %d got no balance", i)
		}
	}
	c.send("3", "subscription { balanceUpdated { amount } }")
	m, _ := c.until("next", "3", 5*time.Second)
	if m == nil || !slices.Equal(codesOf(dig(m, "payload").(map[string]any)), []string{"TOO_MANY_SUBSCRIPTIONS"}) {
		t.Fatalf("the 4th subscription on a socket with a cap of 3: %v", m)
	}
	// Completing one frees its place.
	ctx := context.Background()
	if err := wsjson.Write(ctx, c.conn, map[string]any{"id": "0", "type": "complete"}); err != nil {
		t.Fatal(err)
	}
	var freed bool
	for i := 4; i < 50 && !freed; i++ {
		c.send(fmt.Sprint(i), "subscription { balanceUpdated { amount } }")
		m, _ := c.until("next", fmt.Sprint(i), 5*time.Second)
		freed = m != nil && len(codesOf(dig(m, "payload").(map[string]any))) == 0
		time.Sleep(10 * time.Millisecond)
	}
	if !freed {
		t.Fatal("a completed subscription did not free its place")
	}
	second := e.wsDial(t, owner)
	if _, code := second.until("connection_ack", "", 5*time.Second); code != -1 {
		t.Fatalf("2nd socket closed with %d", code)
	}
	third := e.wsDial(t, owner)
	if _, code := third.until("connection_ack", "", 5*time.Second); code != 4403 {
		t.Fatalf("3rd socket of a token with a cap of 2: close %d, want 4403", code)
	}
	// Another token of the workspace has its own sockets.
	other := e.wsDial(t, e.token(mustWorkspace(t, e, owner), auth.RoleMember))
	if _, code := other.until("connection_ack", "", 5*time.Second); code != -1 {
		t.Fatalf("another token's socket closed with %d", code)
	}
	// A client that keeps subscribing after as many refusals as the cap is
	// flooding: the connection ends with 4400 (graphql-ws does not retry).
	for i := 0; i < 100; i++ {
		msg := map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{"query": "subscription { balanceUpdated { amount } }"}}
		if wsjson.Write(ctx, other.conn, msg) != nil {
			break // closed already
		}
	}
	if _, code := other.until("never", "", 10*time.Second); code != 4400 {
		t.Fatalf("a socket flooding subscriptions: close %d, want 4400", code)
	}
}

func mustWorkspace(t *testing.T, e *env, token string) uuid.UUID {
	t.Helper()
	c, err := e.tokens.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return c.WorkspaceID
}

// 16.5: more subscriptions to an already subscribed workspace cost no
// goroutine of ours (gqlgen keeps one per operation) and no database read.
func TestIssue16_5_SubscriptionsToOneWorkspaceShareOneTopic(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.Limits.SubscriptionsPerSocket = 200 })
	ws, owner := e.workspace("3")
	c := e.wsDial(t, owner)
	if _, code := c.until("connection_ack", "", 5*time.Second); code != -1 {
		t.Fatalf("closed with %d", code)
	}
	c.send("warm", "subscription { balanceUpdated { amount } }")
	if m, _ := c.until("next", "warm", 5*time.Second); m == nil {
		t.Fatal("no first balance")
	}
	before := runtime.NumGoroutine()
	const n = 100
	for i := 0; i < n; i++ {
		c.send(fmt.Sprint(i), "subscription { balanceUpdated { amount } }")
	}
	got := map[any]bool{}
	for len(got) < n {
		m, code := c.until("next", "", 10*time.Second)
		if m == nil {
			t.Fatalf("%d of %d first balances (close %d)", len(got), n, code)
		}
		if m["id"] != "warm" {
			got[m["id"]] = true
		}
	}
	if grown := runtime.NumGoroutine() - before; grown > n+n/10 {
		t.Fatalf("%d subscriptions added %d goroutines; want about one each (gqlgen's)", n, grown)
	}
	if e.hub.Count() != n+1 || e.hub.Topics() != 1 {
		t.Fatalf("hub: %d subscriptions on %d topics", e.hub.Count(), e.hub.Topics())
	}
	// Every one of them sees the next change.
	if _, err := e.billing.Grant(context.Background(), ws, 1_000_000_000, "test", ""); err != nil {
		t.Fatal(err)
	}
	updated := map[any]bool{}
	for len(updated) < n+1 {
		m, _ := c.until("next", "", 10*time.Second)
		if m == nil {
			t.Fatalf("%d of %d subscriptions saw the grant", len(updated), n+1)
		}
		if dig(m, "payload", "data", "balanceUpdated", "amount") == "4.00" {
			updated[m["id"]] = true
		}
	}
}

// 16.6: slow clients are dropped after the body deadline, the public
// listener's connection cap holds, and the router's listener keeps
// answering /v1/authorize while the public one is full of trickling clients.
func TestIssue16_6_TricklingClientsCannotStarveTheRouter(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.BodyTimeout = time.Second })
	ws, _ := e.workspace("10")
	edge, err := e.server.Listen(server.EdgeConfig{Addr: "127.0.0.1:0", RouterAddr: "127.0.0.1:0",
		MaxConnections: 20, RouterMaxConnections: 20, ReadHeaderTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go edge.Serve()                                           //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { edge.Shutdown(context.Background()) }) //nolint:errcheck
	public, router := edge.Addrs()[0].String(), edge.Addrs()[1].String()

	// 40 clients trickle a body at the public listener (cap 20).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	dropped := 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", public, 5*time.Second)
			if err != nil {
				return
			}
			defer conn.Close()
			if _, err := fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
				return
			}
			for n := 0; n < 300; n++ { // bounded: 30 s at most
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := conn.Write([]byte(" ")); err != nil {
					mu.Lock()
					dropped++
					mu.Unlock()
					return
				}
			}
		}()
	}
	authorize := func(addr string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/authorize", strings.NewReader(`{"workspace_id":"`+ws.String()+`","model":"gpt-4o","request_id":"slow"}`))
		req.Header.Set("Authorization", "Bearer "+e.service)
		req.Header.Set("Content-Type", "application/json")
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := 0; i < 20; i++ {
		if status := authorize(router); status != http.StatusOK {
			t.Fatalf("authorize on the router listener during the trickle: %d", status)
		}
	}
	// The server drops trickling clients (body deadline), freeing places:
	// the public listener answers again while the trickle goes on.
	var status int
	for i := 0; i < 30 && status != http.StatusOK; i++ {
		status = authorize(public)
	}
	close(stop)
	wg.Wait()
	if status != http.StatusOK {
		t.Fatalf("authorize on the public listener never answered 200 during the trickle: %d", status)
	}
	if dropped == 0 {
		t.Fatal("no trickling client was dropped")
	}
	t.Logf("%d of 40 trickling clients dropped by the server", dropped)
}

// 16.7: a limited mutation answers a GraphQL response (errors[0].extensions
// .code RATE_LIMITED) with 429 and Retry-After.
func TestIssue16_7_RateLimitedAnswerIsGraphQLShaped(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.MutationsPerSecond, d.MutationBurst = 0.5, 1 })
	_, owner := e.workspace("0")
	mutation := map[string]any{"query": `mutation { createSetupIntent { clientSecret } }`}
	if status, _ := e.post("/graphql", owner, mutation); status != http.StatusOK {
		t.Fatalf("first mutation: %d", status)
	}
	for _, accept := range []string{"application/json", "application/graphql-response+json"} {
		resp, body := rawPost(t, e, owner, accept, `{"query":"mutation { createSetupIntent { clientSecret } }"}`)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: %d Retry-After %q", accept, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if !slices.Equal(codesOf(body), []string{"RATE_LIMITED"}) {
			t.Fatalf("%s: body %v", accept, body)
		}
		if _, has := body["data"]; has {
			t.Fatalf("%s: a refused request carries data: %v", accept, body)
		}
	}
}

func rawPost(t *testing.T, e *env, token, accept, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %s", err, b)
	}
	return resp, out
}
