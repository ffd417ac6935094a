// Package graph is the GraphQL API: the schema (*.graphqls), thin resolvers
// that decode, make one call into billing and encode, and the handler with
// its limits and error presenter. It holds no money arithmetic and no
// business rule.
package graph

import (
	"context"
	"log/slog"
	"time"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/feed"
	"github.com/airouter/credits/graph/model"
)

// Resolver holds what resolvers call into.
type Resolver struct {
	Billing *billing.Service
	// Alerts holds notification settings, webhook endpoints and their log.
	Alerts *alerts.Service
	// Balances, when set, answers the balance query from memory (the gate
	// the router's authorize reads, kept fresh by NOTIFY) instead of a
	// database read per query.
	Balances *billing.Gate
	Hub      *feed.Hub
	Log      *slog.Logger
	// PublicURL is the base of invoice download links.
	PublicURL string
	// BalanceInterval is the least time between two balanceUpdated
	// messages to one subscriber (DefaultBalanceInterval when zero).
	BalanceInterval time.Duration
}

// DefaultBalanceInterval coalesces bursts to at most 4 messages a second.
const DefaultBalanceInterval = 250 * time.Millisecond

// streamBalances sends a subscription's balances to out, at most one per
// interval, skipping intermediate ones but always ending on the latest.
// It returns, closing out and the subscription, when ctx ends (the client
// went away), so nothing leaks.
func streamBalances(ctx context.Context, sub *feed.Subscription, out chan<- *model.Balance, interval time.Duration) {
	defer close(out)
	defer sub.Close()
	if interval <= 0 {
		interval = DefaultBalanceInterval
	}
	sent := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Ready():
		}
		b := sub.Latest()
		if b.Version <= sent {
			continue
		}
		select {
		case out <- balanceModel(b):
			sent = b.Version
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
