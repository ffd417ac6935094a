package server_test

import (
	"context"
	"fmt"
	"runtime"
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
)

// wsSub is a graphql-transport-ws client subscribed to balanceUpdated.
type wsSub struct {
	conn *websocket.Conn
	msgs chan map[string]any // balanceUpdated payloads
	done chan struct{}
}

// subscribe connects with token and subscribes; it fails unless the server
// acknowledges the connection.
func (e *env) subscribe(ctx context.Context, token string) (*wsSub, error) {
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	init := map[string]any{"type": "connection_init", "payload": map[string]any{}}
	if token != "" {
		init["payload"] = map[string]any{"Authorization": "Bearer " + token}
	}
	if err := wsjson.Write(ctx, conn, init); err != nil {
		return nil, err
	}
	var ack map[string]any
	if err := wsjson.Read(ctx, conn, &ack); err != nil {
		return nil, err
	}
	if ack["type"] != "connection_ack" {
		conn.Close(websocket.StatusNormalClosure, "")
		return nil, fmt.Errorf("no ack: %v", ack)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": "subscription { balanceUpdated { amount blocked updatedAt } }"}}); err != nil {
		return nil, err
	}
	s := &wsSub{conn: conn, msgs: make(chan map[string]any, 10000), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			var m map[string]any
			if err := wsjson.Read(context.Background(), conn, &m); err != nil {
				return
			}
			if m["type"] == "next" {
				if b, ok := dig(m, "payload", "data", "balanceUpdated").(map[string]any); ok {
					s.msgs <- b
				}
			}
		}
	}()
	return s, nil
}

func (s *wsSub) close() {
	s.conn.Close(websocket.StatusNormalClosure, "")
	<-s.done
}

// waitFor reads messages until one has the amount, or fails after 5 s.
func (s *wsSub) waitFor(t *testing.T, amount string) map[string]any {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-s.msgs:
			if m["amount"] == amount {
				return m
			}
		case <-timeout:
			t.Fatalf("no balanceUpdated with amount %s", amount)
		}
	}
}

// quiet returns every message received until none came for d.
func (s *wsSub) quiet(d time.Duration) []map[string]any {
	var got []map[string]any
	for {
		select {
		case m := <-s.msgs:
			got = append(got, m)
		case <-time.After(d):
			return got
		}
	}
}

func TestBalanceUpdated_AcrossTwoInstancesAndOnlyForTheOwnWorkspace(t *testing.T) {
	a := newEnv(t)
	b := newEnvOn(t, a.db) // a second server process on the same database
	ctx := context.Background()
	ws, owner := a.workspace("0.03")
	otherWS, otherOwner := a.workspace("7")
	sub, err := a.subscribe(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.close()
	other, err := a.subscribe(ctx, otherOwner)
	if err != nil {
		t.Fatal(err)
	}
	defer other.close()
	sub.waitFor(t, "0.03") // the current balance comes first
	other.waitFor(t, "7.00")

	// Usage reported to instance B reaches the subscriber on A: 0.03 - 0.03 = 0, blocked.
	if code, _ := b.post("/v1/usage", b.service, map[string]any{"events": []any{usageEvent(ws, "e1", 3000)}}); code != 200 {
		t.Fatalf("usage on B: %d", code)
	}
	if m := sub.waitFor(t, "0.00"); m["blocked"] != true {
		t.Fatalf("at zero: %v", m)
	}
	// A purchase made through A.
	if _, codes := a.gql(owner, addCredits, purchase("25.00", "pm_card_visa", "")); len(codes) != 0 {
		t.Fatal(codes)
	}
	if m := sub.waitFor(t, "25.00"); m["blocked"] != false {
		t.Fatalf("after purchase: %v", m)
	}
	// The other workspace's subscriber saw none of it.
	for _, m := range other.quiet(300 * time.Millisecond) {
		if m["amount"] != "7.00" {
			t.Fatalf("workspace %s received another workspace's balance %v", otherWS, m)
		}
	}
}

func TestBalanceUpdated_BurstsCoalesceAndEndOnTheFinalBalance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ws, owner := e.workspace("1000")
	sub, err := e.subscribe(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.close()
	sub.waitFor(t, "1000.00")
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for batch := 0; batch < 50; batch++ { // 8 × 50 × ~12.5 = 5,000 events
				var events []any
				for i := 0; i < 100; i++ {
					if n := (w*50+batch)*100 + i; n < 5000 && i < 13 {
						events = append(events, usageEvent(ws, fmt.Sprint("b", n), 100))
					}
				}
				if len(events) > 0 {
					if code, _ := e.post("/v1/usage", e.service, map[string]any{"events": events}); code != 200 {
						t.Errorf("usage: %d", code)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	final := e.balance(ws)
	msgs := sub.quiet(time.Second)
	if len(msgs) == 0 || msgs[len(msgs)-1]["amount"] != final {
		t.Fatalf("last message %v, want the final balance %s", msgs, final)
	}
	// At most one message per 100 ms interval, plus the first and the last.
	if limit := int(elapsed/(100*time.Millisecond)) + 3; len(msgs) > limit {
		t.Fatalf("%d messages in %s, want at most %d", len(msgs), elapsed, limit)
	}
	t.Logf("%d messages for a burst of usage batches over %s; final %s", len(msgs), elapsed, final)
}

func TestBalanceUpdated_ClientsComeAndGoWithoutLeaks(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.Limits.SocketsPerToken = 200 })
	ctx := context.Background()
	_, owner := e.workspace("5")
	warm, err := e.subscribe(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	warm.waitFor(t, "5.00")
	warm.close()
	time.Sleep(100 * time.Millisecond)
	before := goroutineStacks()
	var subs []*wsSub
	for i := 0; i < 200; i++ {
		s, err := e.subscribe(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	for _, s := range subs {
		s.waitFor(t, "5.00")
	}
	if n := e.hub.Count(); n != 200 {
		t.Fatalf("%d subscriptions, want 200", n)
	}
	for _, s := range subs {
		s.close()
	}
	// Eventually, not at once: a loaded machine (the whole suite under -race)
	// takes its time to finish 200 close handshakes.
	deadline := time.Now().Add(20 * time.Second)
	leaked := goroutinesAdded(before, goroutineStacks())
	for (e.hub.Count() != 0 || len(leaked) > 0) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		leaked = goroutinesAdded(before, goroutineStacks())
	}
	if e.hub.Count() != 0 || len(leaked) > 0 {
		t.Fatalf("after disconnects: %d subscriptions, %d goroutines more than before the 200 came; those are:\n%s",
			e.hub.Count(), len(leaked), strings.Join(leaked, "\n\n"))
	}
	var conns int
	if err := e.db.SQL.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&conns); err != nil {
		t.Fatal(err)
	}
	if conns > 41 { // the pool's 40 plus the one listener connection
		t.Fatalf("%d Postgres connections after 200 clients left", conns)
	}
}

// goroutineStacks is every goroutine's stack, one string each.
func goroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// goroutinesAdded is the stacks in after whose kind (where it waits, who
// started it) is more common than in before, among those that run the
// service's code, gqlgen's or a WebSocket library's: a subscription that
// outlives its client. Goroutines of the rest of the process (database/sql,
// the test's HTTP clients) come and go for reasons of their own.
func goroutinesAdded(before, after []string) []string {
	// One that was there before (by id) is no leak, whatever it is doing
	// now; one that ended may have been replaced by another of its kind.
	existed := map[string]bool{}
	for _, s := range before {
		existed[goroutineID(s)] = true
	}
	still := map[string]bool{}
	for _, s := range after {
		still[goroutineID(s)] = existed[goroutineID(s)]
	}
	seen := map[string]int{}
	for _, s := range before {
		if !still[goroutineID(s)] {
			seen[goroutineKind(s)]++
		}
	}
	var added []string
	for _, s := range after {
		if still[goroutineID(s)] {
			continue
		}
		k := goroutineKind(s)
		if seen[k] > 0 {
			seen[k]--
			continue
		}
		if strings.Contains(s, "airouter/credits/") || strings.Contains(s, "gqlgen") || strings.Contains(s, "websocket") {
			added = append(added, s)
		}
	}
	return added
}

// goroutineID is the "goroutine N" a stack starts with.
func goroutineID(stack string) string {
	id, _, _ := strings.Cut(stack, " [")
	return id
}

// goroutineKind is a goroutine's first frame outside the runtime and the
// function that started it, without the ids and addresses that differ
// between two goroutines of one kind.
func goroutineKind(stack string) string {
	var frame, creator string
	for _, line := range strings.Split(stack, "\n") {
		switch {
		case strings.HasPrefix(line, "goroutine "), strings.HasPrefix(line, "\t"):
		case strings.HasPrefix(line, "created by "):
			creator, _, _ = strings.Cut(line, " in goroutine ")
		case frame == "" && !strings.HasPrefix(line, "runtime.") && !strings.HasPrefix(line, "internal/"):
			frame = line // "...additional frames elided..." has no arguments
			if i := strings.LastIndex(line, "("); i > 0 {
				frame = line[:i] // the arguments are the last parentheses; a method's (*T) stays
			}
		}
	}
	return frame + " / " + creator
}

func TestBalanceUpdated_SurvivesALostListenerConnection(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ws, owner := e.workspace("10")
	sub, err := e.subscribe(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.close()
	sub.waitFor(t, "10.00")
	var killed int
	if err := e.db.SQL.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query ILIKE 'listen%'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listener connections: %v", killed, err)
	}
	// Changes made while it reconnects are not lost: the hub refreshes on reconnect.
	if _, err := e.billing.Grant(ctx, ws, 5_000_000_000, "during reconnect", ""); err != nil {
		t.Fatal(err)
	}
	sub.waitFor(t, "15.00")
	time.Sleep(300 * time.Millisecond)
	if _, err := e.billing.Grant(ctx, ws, 5_000_000_000, "after reconnect", ""); err != nil {
		t.Fatal(err)
	}
	sub.waitFor(t, "20.00")
}

func TestBalanceUpdated_RefusesMissingServiceAndRevokedTokens(t *testing.T) {
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
	for name, token := range map[string]string{"no token": "", "service token": e.service, "revoked token": revoked, "unknown token": "cr_" + uuid.NewString()} {
		if s, err := e.subscribe(ctx, token); err == nil {
			s.close()
			t.Errorf("%s: connection acknowledged", name)
		}
	}
}
