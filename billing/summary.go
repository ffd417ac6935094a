package billing

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/money"
)

// rollUp adds the batch's events to the per-day, per-model usage totals in
// the charging transaction, so the usage view never scans events.
func rollUp(ctx context.Context, tx querier, events []pricedEvent) error {
	type key struct {
		ws    uuid.UUID
		day   string
		model string
	}
	type sums struct{ requests, in, out, cached, traces, cost int64 }
	agg := map[key]*sums{}
	var order []key
	for _, ev := range events {
		k := key{ev.workspace, ev.OccurredAt.UTC().Format("2006-01-02"), ev.Model}
		a, ok := agg[k]
		if !ok {
			a = &sums{}
			agg[k] = a
			order = append(order, k)
		}
		a.requests++
		a.in += ev.InputTokens
		a.out += ev.OutputTokens
		a.cached += ev.CachedInputTokens
		a.traces += ev.Traces
		a.cost += int64(ev.cost + ev.traceCost)
	}
	n := len(order)
	ws, days, models := make([]string, n), make([]string, n), make([]string, n)
	req, in, out, cached, traces, cost := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, k := range order {
		a := agg[k]
		ws[i], days[i], models[i] = k.ws.String(), k.day, k.model
		req[i], in[i], out[i], cached[i], traces[i], cost[i] = a.requests, a.in, a.out, a.cached, a.traces, a.cost
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO usage_rollups (workspace_id, day, model, requests, input_tokens, output_tokens, cached_input_tokens, traces, cost)
		SELECT * FROM unnest($1::uuid[], $2::date[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
		ON CONFLICT (workspace_id, day, model) DO UPDATE SET requests = usage_rollups.requests + EXCLUDED.requests,
			input_tokens = usage_rollups.input_tokens + EXCLUDED.input_tokens, output_tokens = usage_rollups.output_tokens + EXCLUDED.output_tokens,
			cached_input_tokens = usage_rollups.cached_input_tokens + EXCLUDED.cached_input_tokens,
			traces = usage_rollups.traces + EXCLUDED.traces, cost = usage_rollups.cost + EXCLUDED.cost`,
		pq.Array(ws), pq.Array(days), pq.Array(models), pq.Array(req), pq.Array(in), pq.Array(out), pq.Array(cached), pq.Array(traces), pq.Array(cost))
	if err != nil {
		return fmt.Errorf("roll up usage: %w", err)
	}
	return nil
}

// UsageRow is one row of the usage view. Day is zero unless grouped by
// day; Model is empty unless grouped by model.
type UsageRow struct {
	Day                                          time.Time
	Model                                        string
	Requests                                     int64
	InputTokens, OutputTokens, CachedInputTokens int64
	Traces                                       int64
	Cost                                         money.Amount // tokens and trace overage
}

// MaxUsageWindow bounds the usage view's window.
const MaxUsageWindow = 400 * 24 * time.Hour

// UsageSummary sums the workspace's usage over whole UTC days, from the day
// of from to the day of to inclusive (by the events' occurred_at), grouped
// by day and/or model (neither: one total row), days ascending then
// models by name.
func (s *Service) UsageSummary(ctx context.Context, workspaceID uuid.UUID, from, to time.Time, byDay, byModel bool) ([]UsageRow, error) {
	if to.Before(from) {
		return nil, badInput("to", "to must not be before from")
	}
	if to.Sub(from) > MaxUsageWindow {
		return nil, badInput("to", "the window may span at most 400 days")
	}
	dayCol, modelCol := "NULL::date", "''"
	var group []string
	if byDay {
		dayCol = "day"
		group = append(group, "day")
	}
	if byModel {
		modelCol = "model"
		group = append(group, "model")
	}
	groupBy, orderBy := "", ""
	if len(group) > 0 {
		groupBy = " GROUP BY " + strings.Join(group, ", ")
		orderBy = " ORDER BY " + strings.Join(group, ", ")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+dayCol+`, `+modelCol+`, COALESCE(sum(requests), 0)::bigint, COALESCE(sum(input_tokens), 0)::bigint,
		COALESCE(sum(output_tokens), 0)::bigint, COALESCE(sum(cached_input_tokens), 0)::bigint, COALESCE(sum(traces), 0)::bigint, COALESCE(sum(cost), 0)::bigint
		FROM usage_rollups WHERE workspace_id = $1 AND day BETWEEN $2::date AND $3::date`+groupBy+orderBy,
		workspaceID, from.UTC().Format("2006-01-02"), to.UTC().Format("2006-01-02"))
	if err != nil {
		return nil, fmt.Errorf("usage summary: %w", err)
	}
	defer rows.Close()
	out := []UsageRow{}
	for rows.Next() {
		var r UsageRow
		var day sql.NullTime
		if err := rows.Scan(&day, &r.Model, &r.Requests, &r.InputTokens, &r.OutputTokens, &r.CachedInputTokens, &r.Traces, &r.Cost); err != nil {
			return nil, fmt.Errorf("usage summary: %w", err)
		}
		if day.Valid {
			r.Day = day.Time.UTC()
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
