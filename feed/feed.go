// Package feed fans committed balance changes out to everything in this
// process that wants them: the authorize gate and GraphQL subscribers. Its
// Listener receives every instance's changes by Postgres LISTEN on
// billing.BalanceChannel (lib/pq pq.Listener, reconnecting); its Hub keeps
// per-workspace subscriptions that always end on the latest balance.
//
// It does not produce changes (billing NOTIFYs inside its transactions) and
// knows nothing of GraphQL or HTTP.
package feed

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/billing"
)

// Listener delivers every instance's balance changes to its handlers.
type Listener struct {
	dsn string
	log *slog.Logger
	// OnBalance is called for each committed balance change, in arrival order.
	OnBalance []func(billing.Balance)
	// OnLive is called with true once connected (and after each reconnect)
	// and false when the connection is lost.
	OnLive []func(bool)
	// OnPrices is called when an operator added a price version
	// (billing.PricesChannel), so the catalog reloads at once.
	OnPrices []func()
}

// NewListener returns a listener for the database at dsn.
func NewListener(dsn string, log *slog.Logger) *Listener {
	return &Listener{dsn: dsn, log: log}
}

// Run listens until ctx ends.
func (l *Listener) Run(ctx context.Context) error {
	live := func(v bool) {
		for _, f := range l.OnLive {
			f(v)
		}
	}
	pl := pq.NewListener(l.dsn, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventConnected, pq.ListenerEventReconnected:
			l.log.Info("balance listener connected")
			live(true)
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			l.log.Warn("balance listener disconnected", "err", err)
			live(false)
		}
	})
	defer pl.Close()
	for _, channel := range []string{billing.BalanceChannel, billing.PricesChannel} {
		if err := pl.Listen(channel); err != nil {
			return err
		}
	}
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-pl.Notify:
			if n == nil { // reconnected: handled by the event callback
				continue
			}
			if n.Channel == billing.PricesChannel {
				for _, f := range l.OnPrices {
					f()
				}
				continue
			}
			b, err := billing.ParseNotification(n.Extra)
			if err != nil {
				l.log.Error("bad balance notification", "err", err)
				continue
			}
			for _, f := range l.OnBalance {
				f(b)
			}
		case <-ping.C:
			// A ping notices a silently dropped connection.
			go pl.Ping() //nolint:errcheck // failures surface as disconnect events
		}
	}
}

// Hub holds subscriptions to workspaces' balances. Subscribers of one
// workspace share one topic: the latest balance, one delivery schedule,
// no goroutine (deliveries run on the publisher's goroutine or a timer), so
// a subscription costs a map entry and a database read only when its
// workspace had no subscriber on this instance yet.
type Hub struct {
	mu     sync.Mutex
	topics map[uuid.UUID]*topic
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{topics: map[uuid.UUID]*topic{}} }

// topic is one workspace's subscribers. Deliveries coalesce: at most one
// per interval, skipping intermediate balances, always ending on the latest.
type topic struct {
	ws       uuid.UUID
	interval time.Duration
	latest   billing.Balance
	has      bool
	subs     map[*Subscription]struct{}
	lastSent time.Time
	pending  *time.Timer // a delivery of latest scheduled for the interval's end
}

// Subscription receives one workspace's balances through deliver, which
// must not block (the caller keeps only the newest, e.g. a channel of one).
type Subscription struct {
	hub     *Hub
	ws      uuid.UUID
	deliver func(billing.Balance)
	done    func()
	sent    int64 // the version last delivered; -1 before the first
	closed  bool
}

// Subscribe adds a subscriber to workspaceID. deliver receives the latest
// balance at once if the workspace is already subscribed here (Delivered
// says whether it did), then each newer one, at most one per interval;
// done runs once, after the last delivery, when Close is called.
func (h *Hub) Subscribe(workspaceID uuid.UUID, interval time.Duration, deliver func(billing.Balance), done func()) *Subscription {
	s := &Subscription{hub: h, ws: workspaceID, deliver: deliver, done: done, sent: -1}
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[workspaceID]
	if t == nil {
		t = &topic{ws: workspaceID, interval: interval, subs: map[*Subscription]struct{}{}}
		h.topics[workspaceID] = t
	}
	t.subs[s] = struct{}{}
	if t.has {
		s.sent = t.latest.Version
		s.deliver(t.latest)
	}
	return s
}

// Delivered reports whether the subscription has received a balance.
func (s *Subscription) Delivered() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.sent >= 0
}

// Publish delivers b to the workspace's subscribers, if it is newer than
// what they have.
func (h *Hub) Publish(b billing.Balance) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[b.WorkspaceID]
	if t == nil || (t.has && t.latest.Version >= b.Version) {
		return
	}
	t.latest, t.has = b, true
	// A subscriber that has nothing yet gets it now; the others on the
	// topic's schedule.
	for s := range t.subs {
		if s.sent < 0 {
			s.sent = b.Version
			s.deliver(b)
		}
	}
	if t.pending != nil {
		return // the scheduled delivery will carry b
	}
	if wait := t.interval - time.Since(t.lastSent); wait > 0 {
		t.pending = time.AfterFunc(wait, func() { h.flush(t) })
		return
	}
	h.deliverLocked(t)
}

func (h *Hub) flush(t *topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.pending = nil
	if h.topics[t.ws] == t {
		h.deliverLocked(t)
	}
}

func (h *Hub) deliverLocked(t *topic) {
	t.lastSent = time.Now()
	for s := range t.subs {
		if s.sent < t.latest.Version {
			s.sent = t.latest.Version
			s.deliver(t.latest)
		}
	}
}

// Refresh re-reads and publishes the balance of every subscribed
// workspace: after the listener reconnects, changes made while it was down
// were never notified.
func (h *Hub) Refresh(ctx context.Context, get func(context.Context, uuid.UUID) (billing.Balance, error)) {
	h.mu.Lock()
	workspaces := make([]uuid.UUID, 0, len(h.topics))
	for ws := range h.topics {
		workspaces = append(workspaces, ws)
	}
	h.mu.Unlock()
	for _, ws := range workspaces {
		if b, err := get(ctx, ws); err == nil {
			h.Publish(b)
		}
	}
}

// Count is the number of open subscriptions (for metrics and leak tests).
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, t := range h.topics {
		n += len(t.subs)
	}
	return n
}

// Topics is the number of subscribed workspaces.
func (h *Hub) Topics() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics)
}

// Close ends the subscription: no delivery follows, then done runs.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	if s.closed {
		h.mu.Unlock()
		return
	}
	s.closed = true
	if t := h.topics[s.ws]; t != nil {
		delete(t.subs, s)
		if len(t.subs) == 0 {
			if t.pending != nil {
				t.pending.Stop()
			}
			delete(h.topics, s.ws)
		}
	}
	h.mu.Unlock()
	if s.done != nil {
		s.done()
	}
}
