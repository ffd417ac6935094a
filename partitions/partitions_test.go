package partitions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/airouter/credits/partitions/week"
	"github.com/airouter/credits/pgtest"
)

const retention = 400 * 24 * time.Hour

// A Wednesday afternoon; its week starts on Monday 2026-11-23.
var wednesday = time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)

func TestParseName_TakesOnlyMondayPartitions(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"usage_events_20261123", true},
		{"usage_events_20261124", false}, // a Tuesday
		{"usage_events_default", false},
		{"usage_events_2026112", false},
		{"usage_events_202611230", false},
		{"usage_rollups_20261123", false},
		{"usage_events_2026\x0011\x0023", false},
	} {
		if _, ok := parseName(tc.name); ok != tc.ok {
			t.Errorf("parseName(%q) ok = %v, want %v", tc.name, ok, tc.ok)
		}
	}
}

func TestMaintain_CreatesWeeksAheadAndIsIdempotent(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	for range 2 {
		if err := Maintain(ctx, db, wednesday, retention); err != nil {
			t.Fatal(err)
		}
	}
	got := partitionNames(t, db)
	want := []string{"usage_events_20261116", "usage_events_20261123", "usage_events_20261130", "usage_events_20261207", "usage_events_default"}
	if !equal(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
	// Each week is bounded Monday to Monday, UTC.
	var bound string
	if err := db.QueryRow(`SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.relname = 'usage_events_20261123'`).Scan(&bound); err != nil {
		t.Fatal(err)
	}
	if want := "FOR VALUES FROM ('2026-11-23 00:00:00+00') TO ('2026-11-30 00:00:00+00')"; bound != want {
		t.Fatalf("bound %q, want %q", bound, want)
	}
}

// Rows written before a week had its partition (here: all of them, no
// maintenance ever ran) sit in the default partition; creating the week
// moves them, and the primary key still refuses them afterwards.
func TestMaintain_MovesRowsOutOfTheDefaultPartition(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	ws := workspace(t, db)
	sunday := time.Date(2026, 11, 29, 23, 59, 59, 999999000, time.UTC)
	for i, at := range []time.Time{wednesday, sunday, sunday.Add(time.Microsecond), time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)} {
		insert(t, db, ws, "e"+string(rune('a'+i)), at)
	}
	if err := Maintain(ctx, db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"ea": "usage_events_20261123", "eb": "usage_events_20261123", "ec": "usage_events_20261130", "ed": "usage_events_default"} {
		var part string
		if err := db.QueryRow(`SELECT tableoid::regclass::text FROM usage_events WHERE event_id = $1`, id).Scan(&part); err != nil {
			t.Fatal(id, err)
		}
		if part != want {
			t.Errorf("%s in %s, want %s", id, part, want)
		}
	}
	err := tryInsert(db, ws, "eb", sunday)
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "23505" {
		t.Fatalf("re-inserting a moved event: %v, want a unique violation", err)
	}
}

// Retention drops whole weeks once their last instant is older than it,
// and deletes such rows from the default partition; it never touches a
// week that still holds an event younger than the retention.
func TestMaintain_DropsWeeksPastRetention(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	ws := workspace(t, db)
	if err := Maintain(ctx, db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	insert(t, db, ws, "old", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) // default partition
	insert(t, db, ws, "kept", wednesday)
	// 400 days after the first instant of the week of 2026-11-16, that
	// week's end is still inside the retention: nothing goes.
	later := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC).Add(retention)
	if err := Maintain(ctx, db, later, retention); err != nil {
		t.Fatal(err)
	}
	if names := partitionNames(t, db); names[0] != "usage_events_20261116" {
		t.Fatalf("dropped too early: %v", names)
	}
	// Once the week's end is older than the retention, it goes.
	later = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Add(retention)
	if err := Maintain(ctx, db, later, retention); err != nil {
		t.Fatal(err)
	}
	names := partitionNames(t, db)
	if names[0] != "usage_events_20261123" {
		t.Fatalf("after retention: %v", names)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM usage_events WHERE event_id IN ('old', 'kept')`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d of the old and kept events left (%v), want 1", n, err)
	}
	// And the weeks from then on exist, with no gap since the oldest kept.
	if last := names[len(names)-2]; last != Name(week.Start(later).AddDate(0, 0, 7*Ahead)) {
		t.Fatalf("last week %s, want %s ahead of %s", last, Name(week.Start(later).AddDate(0, 0, 7*Ahead)), later)
	}
	if len(names)-1 != int(week.Start(later).AddDate(0, 0, 7*Ahead).Sub(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))/week.Length)+1 {
		t.Fatalf("gap in %v", names)
	}
}

func TestMaintain_RefusesARetentionShorterThanAWeek(t *testing.T) {
	if err := Maintain(context.Background(), nil, wednesday, 6*24*time.Hour); err == nil {
		t.Fatal("want an error")
	}
}

// Twenty instances starting at once: one maintains, the others return,
// nobody fails, and the partitions are the same as one run's.
func TestMaintain_ConcurrentInstances(t *testing.T) {
	db := pgtest.New(t).SQL
	db.SetMaxOpenConns(40)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Maintain(ctx, db, wednesday, retention)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The lock is released: a later run works (and changes nothing).
	if err := Maintain(ctx, db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	if got := partitionNames(t, db); len(got) != 2+Ahead+Behind {
		t.Fatalf("partitions %v", got)
	}
}

func workspace(t *testing.T, db *sql.DB) string {
	t.Helper()
	var id string
	if err := db.QueryRow(`INSERT INTO workspaces (id, name, plan_id, balance, balance_version, balance_updated_at, created_at)
		VALUES (gen_random_uuid(), 'p', (SELECT id FROM plans LIMIT 1), 0, 0, now(), now()) RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func tryInsert(db *sql.DB, ws, id string, at time.Time) error {
	_, err := db.Exec(`INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens, cached_input_tokens, traces,
		cost, trace_cost, batch, event_id, model) VALUES ($1, $2, 1, 1, 0, 0, 1, 0, gen_random_uuid(), $3, 'gpt-4o')`, ws, at, id)
	return err
}

func insert(t *testing.T, db *sql.DB, ws, id string, at time.Time) {
	t.Helper()
	if err := tryInsert(db, ws, id, at); err != nil {
		t.Fatal(err)
	}
}

// partitionNames lists usage_events' partitions by name.
func partitionNames(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'usage_events'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A context that ends at any moment of a run (a server shutting down)
// stops Maintain between steps: it returns, never panics, leaves no
// half-made week and releases its lock, so the next run completes the
// work. Runs over a year of weeks so that cancellation lands inside one.
func TestMaintain_CanceledAtAnyMoment(t *testing.T) {
	db := pgtest.New(t).SQL
	start := wednesday.AddDate(-1, 0, 0)
	for i := range 40 {
		// Each run starts from a year before, as on a fresh database, so
		// that it has dozens of weeks to create.
		if _, err := db.Exec(`DO $$ DECLARE p regclass; BEGIN
			FOR p IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'usage_events'::regclass
				AND inhrelid <> 'usage_events_default'::regclass LOOP EXECUTE format('DROP TABLE %s', p); END LOOP; END $$`); err != nil {
			t.Fatal(err)
		}
		if err := Maintain(context.Background(), db, start, 2*retention); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(time.Duration(i%10) * time.Millisecond)
			cancel()
		}()
		err := Maintain(ctx, db, wednesday, 2*retention)
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if err := Maintain(context.Background(), db, wednesday, 2*retention); err != nil {
		t.Fatal(err)
	}
	names := partitionNames(t, db)
	if last := names[len(names)-2]; last != Name(week.Start(wednesday).AddDate(0, 0, 7*Ahead)) {
		t.Fatalf("after cancelled runs and a complete one, the last week is %s", last)
	}
	var keyless int
	if err := db.QueryRow(`SELECT count(*) FROM pg_inherits i WHERE i.inhparent = 'usage_events'::regclass
		AND NOT EXISTS (SELECT FROM pg_index x WHERE x.indrelid = i.inhrelid AND x.indisprimary)`).Scan(&keyless); err != nil || keyless != 0 {
		t.Fatalf("%d partitions without their key (%v)", keyless, err)
	}
}

// A server that starts with no weekly partitions while usage arrives:
// events of the weeks being created keep being inserted (into the default
// partition, then into their week) during Maintain. Every insert succeeds,
// Maintain succeeds, and every event ends in its week's partition.
func TestMaintain_CreatesWeeksWhileEventsOfThoseWeeksArrive(t *testing.T) {
	for round := range 5 {
		db := pgtest.New(t).SQL
		db.SetMaxOpenConns(20)
		ws := workspace(t, db)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		errs := make(chan error, 8)
		var inserted atomic.Int64
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					// This week and last week: both are created by the run.
					at := wednesday.Add(-time.Duration((g*7919+i*104729)%(9*24*3600)) * time.Second)
					if err := tryInsert(db, ws, fmt.Sprintf("r%d-g%d-%d", round, g, i), at); err != nil {
						errs <- err
						return
					}
					inserted.Add(1)
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		err := Maintain(context.Background(), db, wednesday, retention)
		time.Sleep(20 * time.Millisecond)
		close(stop)
		wg.Wait()
		close(errs)
		if err != nil {
			t.Fatalf("round %d: Maintain: %v", round, err)
		}
		for err := range errs {
			t.Fatalf("round %d: insert: %v", round, err)
		}
		var inDefault, total int64
		if err := db.QueryRow(`SELECT count(*) FILTER (WHERE tableoid = 'usage_events_default'::regclass), count(*) FROM usage_events`).
			Scan(&inDefault, &total); err != nil {
			t.Fatal(err)
		}
		if inDefault != 0 || total != inserted.Load() {
			t.Fatalf("round %d: %d of %d events in the default partition, %d inserted", round, inDefault, total, inserted.Load())
		}
	}
}
