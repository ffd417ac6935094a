package billing

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent/purchase"
	"github.com/airouter/credits/pagecursor"
)

// PurchasePage is one page of a workspace's purchases, newest first.
type PurchasePage struct {
	Purchases []Purchase
	// Cursors[i] is the cursor after Purchases[i].
	Cursors []string
	HasNext bool
	// Total counts every purchase matching the filter, on all pages.
	Total int
}

// MaxPageSize bounds `first`.
const MaxPageSize = 100

// ListPurchases pages through the workspace's purchases of the given kinds
// (all kinds when empty), newest first, by keyset on (created_at, id), so a
// page never repeats or skips a row when new purchases arrive meanwhile.
func (s *Service) ListPurchases(ctx context.Context, workspaceID uuid.UUID, kinds []PurchaseKind, first int, after string) (PurchasePage, error) {
	if first < 0 || first > MaxPageSize {
		return PurchasePage{}, badInput("first", "first must be between 0 and %d", MaxPageSize)
	}
	if first == 0 {
		first = 20
	}
	if len(kinds) == 0 {
		kinds = []PurchaseKind{PurchaseManual, PurchaseAuto}
	}
	filter := s.ent.Purchase.Query().Where(purchase.WorkspaceID(workspaceID), purchase.KindIn(kinds...))
	q := filter.Clone()
	if after != "" {
		at, id, err := pagecursor.Decode(after)
		if err != nil {
			return PurchasePage{}, badInput("after", "after is not a cursor from this list")
		}
		q = q.Where(purchase.Or(purchase.CreatedAtLT(at), purchase.And(purchase.CreatedAt(at), purchase.IDLT(id))))
	}
	rows, err := q.Order(purchase.ByCreatedAt(entDesc()), purchase.ByID(entDesc())).Limit(first + 1).All(ctx)
	if err != nil {
		return PurchasePage{}, fmt.Errorf("list purchases: %w", err)
	}
	var page PurchasePage
	if len(rows) > first {
		rows, page.HasNext = rows[:first], true
	}
	if page.Purchases, err = s.purchasesOf(ctx, rows); err != nil {
		return PurchasePage{}, err
	}
	for _, p := range page.Purchases {
		page.Cursors = append(page.Cursors, pagecursor.Encode(p.CreatedAt, p.ID))
	}
	if page.Total, err = filter.Count(ctx); err != nil {
		return PurchasePage{}, fmt.Errorf("count purchases: %w", err)
	}
	return page, nil
}
