package partitions

import (
	"context"
	"testing"
	"time"

	"github.com/airouter/credits/pgtest"
)

// Last week is sealed only once it has been over for SealAfter, and only
// if it has a partition; from then on every transaction inserting into
// it, and only into it, is counted, once however many events it inserts
// (100,000 in one statement here: counted per event, the row's versions
// made that quadratic); sealing again changes nothing.
func TestSeal_CountsEveryInsertIntoTheWeekAfterIt(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	ws := workspace(t, db)
	monday := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) // the week after wednesday's
	last := monday.AddDate(0, 0, -7)
	if _, sealed, err := Seal(ctx, db, monday.Add(SealAfter)); err != nil || sealed {
		t.Fatalf("no partition yet: sealed %v, %v", sealed, err)
	}
	if err := Maintain(ctx, db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	insert(t, db, ws, "before", last.Add(time.Hour))
	for _, at := range []time.Time{monday, monday.Add(SealAfter - time.Microsecond)} {
		if _, sealed, err := Seal(ctx, db, at); err != nil || sealed {
			t.Fatalf("at %s, %s after the week: sealed %v, %v", at, at.Sub(monday), sealed, err)
		}
	}
	late := func() (n int) {
		t.Helper()
		if err := db.QueryRow(`SELECT late_writes FROM usage_week_seals WHERE week = $1`, last.Format(time.DateOnly)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 2 {
		if week, sealed, err := Seal(ctx, db, monday.Add(SealAfter)); err != nil || !sealed || !week.Equal(last) {
			t.Fatalf("sealed %v %s, %v; want %s", sealed, week, err, last)
		}
		if n := late(); n != 0 {
			t.Fatalf("late_writes %d right after the seal", n)
		}
	}
	insert(t, db, ws, "late-1", last.Add(2*time.Hour))
	insert(t, db, ws, "late-2", last.Add(6*24*time.Hour))
	insert(t, db, ws, "this-week", monday.Add(time.Hour))
	if err := tryInsert(db, ws, "before", last.Add(time.Hour)); err == nil {
		t.Fatal("a duplicate inserted")
	}
	if n := late(); n != 2 {
		t.Fatalf("late_writes %d, want the two inserted into the sealed week (not the refused one, not this week's)", n)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := tx.Exec(`INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens, cached_input_tokens, traces, cost, trace_cost, batch, event_id, model)
			SELECT $1, $2::timestamptz + g * interval '1 second', 1, 1, 0, 0, 1, 0, gen_random_uuid(), gen_random_uuid()::text, 'gpt-4o'
			FROM generate_series(1, 50000) AS g`, ws, last.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := late(); n != 3 {
		t.Fatalf("late_writes %d after one transaction of 100,000 events, want 3", n)
	}
}
