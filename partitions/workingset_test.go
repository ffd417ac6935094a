package partitions

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/pgtest"
)

// relationSize is pg_relation_size of a relation by name, 0 when there is
// none: the test's own measure, by the names Postgres and Maintain give.
func relationSize(t *testing.T, db *sql.DB, rel string) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(`SELECT pg_relation_size(to_regclass($1))`, rel).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n.Int64
}

// sharedBuffers is SHOW shared_buffers ("128MB", "6GB", "1024kB", "8kB"…)
// in bytes.
func sharedBuffers(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var s string
	if err := db.QueryRow(`SHOW shared_buffers`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		suffix string
		bytes  int64
	}{{"kB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				t.Fatalf("SHOW shared_buffers %q: %v", s, err)
			}
			return v * u.bytes
		}
	}
	t.Fatalf("SHOW shared_buffers %q: unknown unit", s)
	return 0
}

func measure(t *testing.T, db *sql.DB, now time.Time) WorkingSet {
	t.Helper()
	w, err := DedupeWorkingSet(context.Background(), db, now)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// The sizes are the ones Postgres reports for this week's key and last
// week's hash index, with events in both weeks; without the hash index
// (not built yet, or a build cut short) last week's lookup is its key.
func TestDedupeWorkingSet_IsThisWeeksKeyAndLastWeeksLookupIndex(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	ws := workspace(t, db)
	if err := Maintain(ctx, db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		insert(t, db, ws, fmt.Sprintf("this-%d", i), wednesday)
		insert(t, db, ws, fmt.Sprintf("last-%d", i), wednesday.AddDate(0, 0, -7))
	}
	buffers := sharedBuffers(t, db)
	want := WorkingSet{
		ThisWeekKey:    relationSize(t, db, "usage_events_20261123_pkey"),
		LastWeekLookup: relationSize(t, db, "usage_events_20261116_event_id_hash"),
		SharedBuffers:  buffers,
	}
	if want.ThisWeekKey <= 8192 || want.LastWeekLookup <= 8192 {
		t.Fatalf("indexes of %d and %d bytes: the events did not reach them", want.ThisWeekKey, want.LastWeekLookup)
	}
	if got := measure(t, db, wednesday); got != want {
		t.Fatalf("working set %+v, want %+v", got, want)
	}

	lastKey := relationSize(t, db, "usage_events_20261116_pkey")
	if lastKey == want.LastWeekLookup {
		t.Fatalf("last week's key and hash index both %d bytes: the fallback below would prove nothing", lastKey)
	}
	want.LastWeekLookup = lastKey
	if _, err := db.Exec(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'usage_events_20261116_event_id_hash'::regclass`); err != nil {
		t.Fatal(err)
	}
	if got := measure(t, db, wednesday); got != want {
		t.Fatalf("with an invalid hash index: working set %+v, want %+v (last week's key)", got, want)
	}
	if _, err := db.Exec(`DROP INDEX usage_events_20261116_event_id_hash`); err != nil {
		t.Fatal(err)
	}
	if got := measure(t, db, wednesday); got != want {
		t.Fatalf("without a hash index: working set %+v, want %+v (last week's key)", got, want)
	}
}

// A week without a partition counts 0, without an error: before any
// maintenance ran, and a week dropped by hand. Empty weeks count what
// their empty indexes take (a metapage, the hash index's initial buckets).
func TestDedupeWorkingSet_MissingWeeksCountZero(t *testing.T) {
	db := pgtest.New(t).SQL
	buffers := sharedBuffers(t, db)
	if got, want := measure(t, db, wednesday), (WorkingSet{SharedBuffers: buffers}); got != want {
		t.Fatalf("no partitions: working set %+v, want %+v", got, want)
	}
	if err := Maintain(context.Background(), db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	empty := WorkingSet{
		ThisWeekKey:    relationSize(t, db, "usage_events_20261123_pkey"),
		LastWeekLookup: relationSize(t, db, "usage_events_20261116_event_id_hash"),
		SharedBuffers:  buffers,
	}
	if got := measure(t, db, wednesday); got != empty || got.ThisWeekKey == 0 || got.LastWeekLookup == 0 {
		t.Fatalf("empty weeks: working set %+v, want %+v", got, empty)
	}
	if _, err := db.Exec(`DROP TABLE usage_events_20261116`); err != nil {
		t.Fatal(err)
	}
	if got, want := measure(t, db, wednesday), (WorkingSet{ThisWeekKey: empty.ThisWeekKey, SharedBuffers: buffers}); got != want {
		t.Fatalf("last week's partition dropped: working set %+v, want %+v", got, want)
	}
	// A year on, no week around now has a partition.
	if got, want := measure(t, db, wednesday.AddDate(1, 0, 0)), (WorkingSet{SharedBuffers: buffers}); got != want {
		t.Fatalf("weeks without partitions: working set %+v, want %+v", got, want)
	}
}

// At Monday 00:00 UTC this week is the new one, empty, and last week the
// one that just ended; a microsecond before, the ending week is this week.
func TestDedupeWorkingSet_MovesAtMondayMidnight(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	ws := workspace(t, db)
	monday := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if err := Maintain(ctx, db, monday.Add(-time.Microsecond), retention); err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		insert(t, db, ws, fmt.Sprintf("ending-%d", i), monday.Add(-time.Duration(i+1)*time.Second))
	}
	buffers := sharedBuffers(t, db)
	before := WorkingSet{
		ThisWeekKey:    relationSize(t, db, "usage_events_20261123_pkey"),
		LastWeekLookup: relationSize(t, db, "usage_events_20261116_event_id_hash"),
		SharedBuffers:  buffers,
	}
	if got := measure(t, db, monday.Add(-time.Microsecond)); got != before {
		t.Fatalf("a microsecond before Monday: working set %+v, want %+v", got, before)
	}
	if err := Maintain(ctx, db, monday, retention); err != nil {
		t.Fatal(err)
	}
	at := WorkingSet{
		ThisWeekKey:    relationSize(t, db, "usage_events_20261130_pkey"),
		LastWeekLookup: relationSize(t, db, "usage_events_20261123_event_id_hash"),
		SharedBuffers:  buffers,
	}
	if at.ThisWeekKey >= before.ThisWeekKey {
		t.Fatalf("the new week's key (%d bytes) is not smaller than the ended week's (%d)", at.ThisWeekKey, before.ThisWeekKey)
	}
	if got := measure(t, db, monday); got != at {
		t.Fatalf("at Monday 00:00: working set %+v, want %+v", got, at)
	}
}

func TestWorkingSet_OversizedPastHalfOfSharedBuffers(t *testing.T) {
	const buffers = 128 << 20
	for _, tc := range []struct {
		name string
		w    WorkingSet
		want bool
	}{
		{"nothing measured", WorkingSet{}, false},
		{"empty", WorkingSet{SharedBuffers: buffers}, false},
		{"exactly half", WorkingSet{ThisWeekKey: buffers / 4, LastWeekLookup: buffers / 4, SharedBuffers: buffers}, false},
		{"one byte more", WorkingSet{ThisWeekKey: buffers/4 + 1, LastWeekLookup: buffers / 4, SharedBuffers: buffers}, true},
		{"this week's key alone", WorkingSet{ThisWeekKey: buffers/2 + 1, SharedBuffers: buffers}, true},
		{"last week's lookup alone", WorkingSet{LastWeekLookup: buffers/2 + 1, SharedBuffers: buffers}, true},
		{"the measured case: 278 MB key in 128 MB", WorkingSet{ThisWeekKey: 278 << 20, LastWeekLookup: 90 << 20, SharedBuffers: buffers}, true},
		{"the same in 6 GB", WorkingSet{ThisWeekKey: 278 << 20, LastWeekLookup: 90 << 20, SharedBuffers: 6 << 30}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.Oversized(); got != tc.want {
				t.Fatalf("%+v Oversized = %v, want %v", tc.w, got, tc.want)
			}
		})
	}
}

func TestWorkingSet_StringInMB(t *testing.T) {
	w := WorkingSet{ThisWeekKey: 278 << 20, LastWeekLookup: 90<<20 + 81920, SharedBuffers: 128 << 20}
	want := "usage dedupe indexes 368.1 MB (this week's key 278.0 MB + last week's lookup 90.1 MB), shared_buffers 128.0 MB"
	if got := w.String(); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

// MB rounds up: the advice to raise shared_buffers to MB(MinSharedBuffers)
// never falls short of it.
func TestMB_RoundsUp(t *testing.T) {
	for bytes, want := range map[int64]int64{0: 0, 1: 1, 1 << 20: 1, 1<<20 + 1: 2, 278 << 20: 278} {
		if got := MB(bytes); got != want {
			t.Errorf("MB(%d) = %d, want %d", bytes, got, want)
		}
	}
}
