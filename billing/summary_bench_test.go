package billing_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkUsageSummary times the usage view over a workspace with many
// events in the window (USAGE_BENCH_EVENTS, default 10,000,000, spread over
// 365 days and 5 models): "rollup" is the query the API runs; "scan" is the
// same totals computed from the event rows, the baseline the rollup
// replaces. Setup writes the events with generate_series (minutes for 10M).
//
//	go test -run '^$' -bench UsageSummary -benchtime 20x -timeout 60m ./billing
func BenchmarkUsageSummary(b *testing.B) {
	events := 10_000_000
	if v, err := strconv.Atoi(os.Getenv("USAGE_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
	}
	f := newFixture(b)
	ws := f.workspace(b, "enterprise", "0")
	ctx := context.Background()
	start := time.Now()
	if _, err := f.db.SQL.ExecContext(ctx, `INSERT INTO usage_events (workspace_id, event_id, model, input_tokens, output_tokens,
		cached_input_tokens, traces, occurred_at, cost, trace_cost, batch)
		SELECT $1, 'e' || g, (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'o4-mini'])[1 + g % 5],
			1000 + g % 500, 200 + g % 100, g % 50, g % 2, now() - (g % 365) * interval '1 day', 1234 + g % 100, (g % 2) * 500, gen_random_uuid()
		FROM generate_series(1, $2) AS g`, ws, events); err != nil {
		b.Fatal(err)
	}
	if _, err := f.db.SQL.ExecContext(ctx, `INSERT INTO usage_rollups (workspace_id, day, model, requests, input_tokens, output_tokens,
		cached_input_tokens, traces, cost)
		SELECT workspace_id, (occurred_at AT TIME ZONE 'UTC')::date, model, count(*), sum(input_tokens), sum(output_tokens),
			sum(cached_input_tokens), sum(traces), sum(cost + trace_cost)
		FROM usage_events WHERE workspace_id = $1 GROUP BY 1, 2, 3`, ws); err != nil {
		b.Fatal(err)
	}
	if _, err := f.db.SQL.ExecContext(ctx, `ANALYZE usage_events; ANALYZE usage_rollups`); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d events in %s", events, time.Since(start).Round(time.Second))
	to := time.Now().UTC()
	from := to.AddDate(0, 0, -364)

	b.Run("rollup", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows, err := f.svc.UsageSummary(ctx, ws, from, to, true, true)
			if err != nil || len(rows) == 0 {
				b.Fatalf("%d rows, %v", len(rows), err)
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows, err := f.db.SQL.QueryContext(ctx, `SELECT (occurred_at AT TIME ZONE 'UTC')::date, model, count(*), sum(input_tokens),
				sum(output_tokens), sum(cached_input_tokens), sum(traces), sum(cost + trace_cost)
				FROM usage_events WHERE workspace_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY 1, 2 ORDER BY 1, 2`,
				ws, from.Truncate(24*time.Hour), to.Truncate(24*time.Hour).Add(24*time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if n == 0 {
				b.Fatal("no rows")
			}
		}
	})
}
