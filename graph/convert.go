package graph

import (
	"context"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/graph/model"
	"github.com/airouter/credits/money"
)

// reader returns the caller if it may read its workspace's data.
func reader(ctx context.Context) (auth.Caller, error) {
	c, ok := auth.CallerFrom(ctx)
	if !ok {
		return auth.Caller{}, auth.ErrUnauthenticated
	}
	if !c.CanRead() {
		return auth.Caller{}, auth.ErrForbidden
	}
	return c, nil
}

// writer returns the caller if it may change its workspace's data.
func writer(ctx context.Context) (auth.Caller, error) {
	c, err := reader(ctx)
	if err != nil {
		return c, err
	}
	if !c.CanWrite() {
		return auth.Caller{}, auth.ErrForbidden
	}
	return c, nil
}

func balanceModel(b billing.Balance) *model.Balance {
	return &model.Balance{Amount: b.Amount, Currency: money.Currency, Blocked: b.Blocked(), UpdatedAt: b.UpdatedAt}
}

// node resolves a global id within the caller's workspace; ids of other
// workspaces resolve to null exactly like ids that do not exist.
func (r *Resolver) node(ctx context.Context, c auth.Caller, id string) (model.Node, error) {
	return nil, nil
}
