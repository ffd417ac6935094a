// Package graph is the GraphQL API: the schema (*.graphqls), thin resolvers
// that decode, make one call into billing and encode, and the handler with
// its limits and error presenter. It holds no money arithmetic and no
// business rule.
package graph

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/feed"
	"github.com/airouter/credits/graph/model"
	"github.com/airouter/credits/links"
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
	// Links makes the download links (plain and signed).
	Links *links.Signer
	// StripePublishableKey is given to the SPA for Stripe.js (empty: sandbox).
	StripePublishableKey string
	// BalanceInterval is the least time between two balanceUpdated
	// messages to one subscriber (DefaultBalanceInterval when zero).
	BalanceInterval time.Duration
}

// DefaultBalanceInterval coalesces bursts to at most 4 messages a second.
const DefaultBalanceInterval = 250 * time.Millisecond

// balanceUpdates subscribes to a workspace's balances until ctx ends (the
// client completes or goes away), when the channel closes. It starts no
// goroutine, and reads the balance (from the gate's memory, or the
// database) only when no subscriber on this instance has it yet.
func (r *Resolver) balanceUpdates(ctx context.Context, workspaceID uuid.UUID) (<-chan *model.Balance, error) {
	interval := r.BalanceInterval
	if interval <= 0 {
		interval = DefaultBalanceInterval
	}
	out := make(chan *model.Balance, 1)
	sub := r.Hub.Subscribe(workspaceID, interval, func(b billing.Balance) { offerLatest(out, balanceModel(b)) }, func() { close(out) })
	if !sub.Delivered() {
		current, err := r.balance(ctx, workspaceID)
		if err != nil {
			sub.Close()
			return nil, err
		}
		r.Hub.Publish(current)
	}
	context.AfterFunc(ctx, sub.Close)
	return out, nil
}

// offerLatest puts b in a channel of one, replacing a balance the reader
// has not taken yet: a slow reader skips to the newest. The hub calls it
// from one goroutine at a time, so after the drain the send succeeds.
func offerLatest(out chan *model.Balance, b *model.Balance) {
	select {
	case out <- b:
		return
	default:
	}
	select {
	case <-out:
	default:
	}
	select {
	case out <- b:
	default:
	}
}
