package partitions

import (
	"context"
	"testing"
	"time"

	"github.com/airouter/credits/pgtest"
)

// Last week is sealed only once it has been over for SealAfter, and only
// if it has a partition; from then on every event inserted into it, and
// only into it, is counted; sealing again changes nothing.
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
}
