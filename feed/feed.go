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

// Hub holds subscriptions to workspaces' balances.
type Hub struct {
	mu   sync.Mutex
	subs map[uuid.UUID]map[*Subscription]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[uuid.UUID]map[*Subscription]struct{}{}} }

// Subscription receives one workspace's balances. Updates coalesce: a slow
// reader skips intermediate balances but always sees the latest one.
type Subscription struct {
	hub    *Hub
	ws     uuid.UUID
	mu     sync.Mutex
	latest billing.Balance
	has    bool
	ready  chan struct{} // capacity 1: "latest changed"
}

// Subscribe starts a subscription to workspaceID; Close ends it.
func (h *Hub) Subscribe(workspaceID uuid.UUID) *Subscription {
	s := &Subscription{hub: h, ws: workspaceID, ready: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[workspaceID] == nil {
		h.subs[workspaceID] = map[*Subscription]struct{}{}
	}
	h.subs[workspaceID][s] = struct{}{}
	return s
}

// Publish delivers b to the workspace's subscribers.
func (h *Hub) Publish(b billing.Balance) {
	h.mu.Lock()
	subs := make([]*Subscription, 0, len(h.subs[b.WorkspaceID]))
	for s := range h.subs[b.WorkspaceID] {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.Offer(b)
	}
}

// Refresh re-reads and publishes the balance of every subscribed
// workspace: after the listener reconnects, changes made while it was down
// were never notified.
func (h *Hub) Refresh(ctx context.Context, get func(context.Context, uuid.UUID) (billing.Balance, error)) {
	h.mu.Lock()
	workspaces := make([]uuid.UUID, 0, len(h.subs))
	for ws := range h.subs {
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
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}

// Offer delivers b if it is newer than what the subscription has.
func (s *Subscription) Offer(b billing.Balance) {
	s.mu.Lock()
	if s.has && s.latest.Version >= b.Version {
		s.mu.Unlock()
		return
	}
	s.latest, s.has = b, true
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled when a newer balance is available from Latest.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Latest returns the newest balance delivered.
func (s *Subscription) Latest() billing.Balance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	delete(s.hub.subs[s.ws], s)
	if len(s.hub.subs[s.ws]) == 0 {
		delete(s.hub.subs, s.ws)
	}
}
