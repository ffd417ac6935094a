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
	inlineAndDeferred(t, func(t *testing.T, f *fixture, svc *billing.Service, ws1, ws2 uuid.UUID) {
		ctx := context.Background()
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

// inlineAndDeferred runs test twice, on a fresh fixture with two funded
// workspaces: once settling every batch inline, once deferring every one
// to the settler.
func inlineAndDeferred(t *testing.T, test func(t *testing.T, f *fixture, svc *billing.Service, ws1, ws2 uuid.UUID)) {
	for _, mode := range []string{"inline", "deferred"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			svc := f.inlineOnly(t)
			if mode == "deferred" {
				svc = f.deferAll(t)
			}
			test(t, f, svc, f.workspace(t, "enterprise", "100"), f.workspace(t, "enterprise", "100"))
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

// The separator itself, sent inside an id or a model, would split one
// event into two and shift every later id against its workspace and
// tokens. Such an event is refused alone, with NUL and invalid UTF-8 in
// the same batch, and its neighbours are stored as sent and charged to
// their own workspaces.
func TestIngestUsage_TheListSeparatorInEventTextIsRefusedAlone(t *testing.T) {
	inlineAndDeferred(t, func(t *testing.T, f *fixture, svc *billing.Service, ws1, ws2 uuid.UUID) {
		ctx := context.Background()
		at := time.Now().Add(-time.Minute)
		ev := func(id string, ws uuid.UUID, model string) billing.UsageEvent {
			return billing.UsageEvent{ID: id, WorkspaceID: ws.String(), Model: model, InputTokens: 1000, OccurredAt: at}
		}
		res, err := svc.IngestUsage(ctx, []billing.UsageEvent{
			ev("before", ws1, "gpt-4o"),
			ev("split\x1fme", ws1, "gpt-4o"),
			ev("model-split", ws2, "gpt-4o\x1fgpt-4o"),
			{ID: "request-split", WorkspaceID: ws2.String(), Model: "gpt-4o", InputTokens: 1000, OccurredAt: at, RequestID: "r\x1f1"},
			ev("nul\x00", ws1, "gpt-4o"),
			ev("bad-utf8-\xff", ws2, "gpt-4o"),
			ev("after", ws2, "gpt-4o"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 2 || len(res.Rejected) != 5 {
			t.Fatalf("result %+v; want 2 accepted, 5 rejected", res)
		}
		for i, want := range []string{"U+001F", "U+001F", "U+001F", "U+0000", "UTF-8"} {
			if !strings.Contains(res.Rejected[i].Error, want) {
				t.Errorf("rejection %d (%q): %q, want it to name %s", i, res.Rejected[i].ID, res.Rejected[i].Error, want)
			}
		}
		settle(t, svc)
		if got := storedEvents(t, f, ws1, ws2); strings.Join(got, "|") != "after\x00gpt-4o|before\x00gpt-4o" {
			t.Fatalf("stored %q", got)
		}
		price, _ := svc.Prices().PriceAt("gpt-4o", at)
		cost, err := price.Cost(billing.Usage{InputTokens: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, ws := range []uuid.UUID{ws1, ws2} {
			if b := f.assertInvariant(t, ws); b != usd(t, "100")-cost {
				t.Errorf("workspace %s: balance %s, want 100 USD − one event (%s)", ws, b, cost)
			}
		}
	})
}
