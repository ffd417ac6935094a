package billing_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
)

// Event ids and models travel to Postgres as one separator-joined string
// each; whatever an id holds that a text[] literal or a split could trip on
// (the array syntax's braces, quotes, commas and backslashes, the word NULL,
// blanks, a lone empty model, many-byte letters, the longest id) is stored
// verbatim and found again as a duplicate, inline and deferred.
func TestIngestUsage_EventTextIsStoredVerbatim(t *testing.T) {
	ids := []string{`a,b`, `{x}`, `"q"`, `back\slash`, `\x1f`, `NULL`, `null`, ` lead`, `trail `, `''`, `é中🙂`,
		`{"a":[1,2]}`, strings.Repeat("z", 200), `e'\x1f'`}
	for _, mode := range []string{"inline", "deferred"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			svc := f.inlineOnly(t)
			if mode == "deferred" {
				svc = f.deferAll(t)
			}
			ctx := context.Background()
			ws1, ws2 := f.workspace(t, "enterprise", "100"), f.workspace(t, "enterprise", "100")
			at := time.Now().Add(-time.Minute)
			var batch []billing.UsageEvent
			for i, id := range ids {
				ws := ws1
				if i%2 == 1 {
					ws = ws2
				}
				batch = append(batch, billing.UsageEvent{ID: id, WorkspaceID: ws.String(), Model: "gpt-4o", InputTokens: 10, OccurredAt: at})
			}
			res, err := svc.IngestUsage(ctx, batch)
			if err != nil || res.Accepted != len(ids) {
				t.Fatalf("ingest: %+v, %v", res, err)
			}
			// A lone trace-only event: its model is the empty string, a list
			// of one empty element.
			res, err = svc.IngestUsage(ctx, []billing.UsageEvent{{ID: "traces-only", WorkspaceID: ws1.String(), Traces: 3, OccurredAt: at}})
			if err != nil || res.Accepted != 1 {
				t.Fatalf("trace-only ingest: %+v, %v", res, err)
			}
			settle(t, svc)
			got := storedEvents(t, f, ws1, ws2)
			want := append([]string{"traces-only\x00"}, ids...)
			for i := range want[1:] {
				want[i+1] += "\x00gpt-4o"
			}
			sort.Strings(want)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("stored events (id NUL model):\n got %q\nwant %q", got, want)
			}
			res, err = svc.IngestUsage(ctx, batch)
			if err != nil || res.Duplicates != len(ids) || res.Accepted != 0 {
				t.Fatalf("resent: %+v, %v; want every event a duplicate", res, err)
			}
			f.assertInvariant(t, ws1)
			f.assertInvariant(t, ws2)
		})
	}
}

// storedEvents is each stored event of the workspaces as "id NUL model", sorted.
func storedEvents(t *testing.T, f *fixture, ws ...uuid.UUID) []string {
	t.Helper()
	rows, err := f.db.SQL.Query(`SELECT event_id, model FROM usage_events WHERE workspace_id = ANY($1::uuid[]) ORDER BY 1`,
		"{"+ws[0].String()+","+ws[1].String()+"}")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, model string
		if err := rows.Scan(&id, &model); err != nil {
			t.Fatal(err)
		}
		out = append(out, id+"\x00"+model)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
