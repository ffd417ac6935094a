package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
)

// Each (workspace, UTC day, model) row of usage_rollups must equal
// the same sums over the stored events, inline and deferred: across a UTC
// midnight to the microsecond, with a connection whose time zone is 14
// hours ahead of UTC (a day computed in the session's zone would move
// events across it), a trace-only event (the empty model), several models
// and two workspaces, and a repeat sent in the same batch (counted once).
func TestIngestUsage_RollupsEqualTheStoredEventsAcrossMidnight(t *testing.T) {
	inlineAndDeferred(t, func(t *testing.T, f *fixture, svc *billing.Service, ws1, ws2 uuid.UUID) {
		ctx := context.Background()
		if _, err := f.db.SQL.ExecContext(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'Pacific/Kiritimati'); END $$`); err != nil {
			t.Fatal(err)
		}
		f.db.SQL.SetMaxIdleConns(0) // new connections take the zone
		f.db.SQL.SetMaxIdleConns(40)
		var zone string
		if err := f.db.SQL.QueryRowContext(ctx, `SHOW TimeZone`).Scan(&zone); err != nil || zone != "Pacific/Kiritimati" {
			t.Fatalf("session time zone %q (%v)", zone, err)
		}
		midnight := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
		last := midnight.Add(-time.Microsecond)
		ev := func(ws uuid.UUID, id, model string, at time.Time, in, out, traces int64) billing.UsageEvent {
			return billing.UsageEvent{ID: id, WorkspaceID: ws.String(), Model: model, InputTokens: in, OutputTokens: out, Traces: traces, OccurredAt: at}
		}
		batch := []billing.UsageEvent{
			ev(ws1, "a", "gpt-4o", last, 100, 10, 0),
			ev(ws1, "b", "gpt-4o", midnight, 200, 20, 1),
			ev(ws1, "c", "gpt-4o", midnight.Add(time.Hour), 300, 30, 0),
			ev(ws1, "d", "gpt-4o-mini", midnight, 400, 40, 0),
			ev(ws1, "e", "", last, 0, 0, 5),
			ev(ws2, "a", "gpt-4o", last, 500, 50, 2),
			ev(ws2, "f", "gpt-4o", midnight, 600, 60, 0),
			ev(ws1, "b", "gpt-4o", midnight, 200, 20, 1), // a repeat
		}
		res, err := svc.IngestUsage(ctx, batch)
		if err != nil || res.Accepted != 7 || res.Duplicates != 1 {
			t.Fatalf("ingest: %+v, %v", res, err)
		}
		settle(t, svc)
		const diff = `SELECT count(*) FROM (
			(SELECT workspace_id, day, model, requests, input_tokens, output_tokens, cached_input_tokens, traces, cost
				FROM usage_rollups WHERE workspace_id = ANY($1::uuid[])
			EXCEPT
			SELECT workspace_id, (occurred_at AT TIME ZONE 'UTC')::date, model, count(*), sum(input_tokens), sum(output_tokens),
				sum(cached_input_tokens), sum(traces), sum(cost + trace_cost)
				FROM usage_events WHERE workspace_id = ANY($1::uuid[]) GROUP BY 1, 2, 3)
			UNION ALL
			(SELECT workspace_id, (occurred_at AT TIME ZONE 'UTC')::date, model, count(*), sum(input_tokens), sum(output_tokens),
				sum(cached_input_tokens), sum(traces), sum(cost + trace_cost)
				FROM usage_events WHERE workspace_id = ANY($1::uuid[]) GROUP BY 1, 2, 3
			EXCEPT
			SELECT workspace_id, day, model, requests, input_tokens, output_tokens, cached_input_tokens, traces, cost
				FROM usage_rollups WHERE workspace_id = ANY($1::uuid[]))) AS d`
		both := "{" + ws1.String() + "," + ws2.String() + "}"
		if n := f.count(t, diff, both); n != 0 {
			t.Fatalf("%d rollup rows differ from the stored events' sums", n)
		}
		// Six keys: ws1 (day before, gpt-4o), (day, gpt-4o) with two
		// requests, (day, gpt-4o-mini), (day before, ""); ws2 two days.
		if n := f.count(t, `SELECT count(*) FROM usage_rollups WHERE workspace_id = ANY($1::uuid[])`, both); n != 6 {
			t.Fatalf("%d rollup rows, want 6", n)
		}
		day := midnight.Format("2006-01-02")
		if n := f.count(t, `SELECT requests FROM usage_rollups WHERE workspace_id = $1 AND day = $2 AND model = 'gpt-4o'`, ws1, day); n != 2 {
			t.Fatalf("%s gpt-4o: %d requests, want 2", day, n)
		}
		f.assertInvariant(t, ws1)
		f.assertInvariant(t, ws2)
	})
}
