package billing

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
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
	kindNames := make([]string, 0, len(kinds))
	for _, k := range kinds {
		kindNames = append(kindNames, string(k))
	}
	if len(kindNames) == 0 {
		kindNames = []string{string(PurchaseManual), string(PurchaseAuto)}
	}
	// Before any cursor: a point later than every row.
	at, id := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), uuid.Max
	if after != "" {
		var err error
		if at, id, err = decodeCursor(after); err != nil {
			return PurchasePage{}, badInput("after", "after is not a cursor from this list")
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+purchaseColumns+` FROM purchases p
		LEFT JOIN invoices i ON i.workspace_id = p.workspace_id AND i.purchase_id = p.id
		WHERE p.workspace_id = $1 AND p.kind = ANY($2::text[]) AND (p.created_at, p.id) < ($3, $4)
		ORDER BY p.created_at DESC, p.id DESC LIMIT $5`, workspaceID, pq.Array(kindNames), at, id, first+1)
	if err != nil {
		return PurchasePage{}, fmt.Errorf("list purchases: %w", err)
	}
	defer rows.Close()
	var page PurchasePage
	for rows.Next() {
		p, err := scanPurchase(rows)
		if err != nil {
			return PurchasePage{}, fmt.Errorf("list purchases: %w", err)
		}
		page.Purchases = append(page.Purchases, p)
	}
	if err := rows.Err(); err != nil {
		return PurchasePage{}, err
	}
	if len(page.Purchases) > first {
		page.Purchases, page.HasNext = page.Purchases[:first], true
	}
	for _, p := range page.Purchases {
		page.Cursors = append(page.Cursors, encodeCursor(p.CreatedAt, p.ID))
	}
	err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM purchases WHERE workspace_id = $1 AND kind = ANY($2::text[])`,
		workspaceID, pq.Array(kindNames)).Scan(&page.Total)
	if err != nil {
		return PurchasePage{}, fmt.Errorf("count purchases: %w", err)
	}
	return page, nil
}

// A cursor is opaque to clients: base64 of "<unix microseconds>:<id>".
func encodeCursor(t time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + ":" + id.String()))
}

func decodeCursor(c string) (time.Time, uuid.UUID, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	micros, idText, ok := strings.Cut(string(raw), ":")
	if !ok {
		return time.Time{}, uuid.Nil, fmt.Errorf("cursor has no id")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	id, err := uuid.Parse(idText)
	return time.UnixMicro(us).UTC(), id, err
}
