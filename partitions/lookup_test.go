package partitions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/airouter/credits/pgtest"
)

// lookupIndexesNow lists the lookup indexes as "partition: method valid".
func lookupIndexesNow(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT t.relname, a.amname, x.indisvalid, pg_get_indexdef(x.indexrelid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am a ON a.oid = i.relam
		WHERE i.relname LIKE '%\_event\_id\_hash' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var table, method, def string
		var valid bool
		if err := rows.Scan(&table, &method, &valid, &def); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s: %s valid=%v", table, method, valid))
		if want := "(event_id)"; !strings.Contains(def, want) {
			t.Errorf("%s indexes %q, want %s", table, def, want)
		}
	}
	return got
}

// Last week's partition, the one every live event's duplicate lookup
// probes, gets a hash index on event_id; the week being written and the
// weeks ahead get none (one index less to insert into), and a week that is
// no longer last week loses it. Twice the same run changes nothing.
func TestMaintain_LookupIndexOnLastWeekOnly(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	ws := workspace(t, db)
	for range 2 {
		if err := Maintain(ctx, db, wednesday, retention); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"usage_events_20261116: hash valid=true"}
	if got := lookupIndexesNow(t, db); !equal(got, want) {
		t.Fatalf("lookup indexes %v, want %v", got, want)
	}
	// Built over rows that are there, and kept up by inserts after it:
	// both are found through it.
	insert(t, db, ws, "before", wednesday)
	if err := Maintain(ctx, db, wednesday.AddDate(0, 0, 7), retention); err != nil {
		t.Fatal(err)
	}
	insert(t, db, ws, "after", wednesday.Add(time.Hour))
	want = []string{"usage_events_20261123: hash valid=true"}
	if got := lookupIndexesNow(t, db); !equal(got, want) {
		t.Fatalf("a week later: lookup indexes %v, want %v", got, want)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	// Two rows: left to itself the planner would read the heap.
	if _, err := tx.Exec(`SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"before", "after"} {
		found := `SELECT count(*) FROM usage_events_20261123 WHERE event_id = ` + pq.QuoteLiteral(id)
		var plan string
		if err := tx.QueryRow(`EXPLAIN (COSTS OFF, FORMAT JSON) ` + found).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, `"Index Name": "usage_events_20261123_event_id_hash"`) {
			t.Fatalf("%s not read through the lookup index: %s", id, plan)
		}
		var n int
		if err := tx.QueryRow(found).Scan(&n); err != nil || n != 1 {
			t.Fatalf("found %s %d times through the lookup index (%v), want once", id, n, err)
		}
	}
}

// An index left invalid (a build interrupted: the server stopped, or its
// lock wait timed out) or one on another week is dropped, and last week's
// built again.
func TestMaintain_LookupIndexRebuiltAfterAnInterruptedBuild(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	if err := Maintain(ctx, db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'usage_events_20261116_event_id_hash'::regclass`,
		`CREATE INDEX usage_events_20261123_event_id_hash ON usage_events_20261123 USING hash (event_id)`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := Maintain(ctx, db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	want := []string{"usage_events_20261116: hash valid=true"}
	if got := lookupIndexesNow(t, db); !equal(got, want) {
		t.Fatalf("lookup indexes %v, want %v", got, want)
	}
}

// At the boundary: a microsecond before Monday 00:00 the week ending is
// still being written and the one before it is last week; at 00:00 the
// week just ended is.
func TestMaintain_LookupIndexMovesAtMondayMidnight(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	monday := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{monday.Add(-time.Microsecond), "usage_events_20261116: hash valid=true"},
		{monday, "usage_events_20261123: hash valid=true"},
	} {
		if err := Maintain(ctx, db, tc.now, retention); err != nil {
			t.Fatal(err)
		}
		if got := lookupIndexesNow(t, db); !equal(got, []string{tc.want}) {
			t.Fatalf("at %s: lookup indexes %v, want %s", tc.now, got, tc.want)
		}
	}
}

// A transaction that holds a snapshot (pg_dump's, an operator's report in
// REPEATABLE READ) makes the concurrent build wait; past buildLockTimeout
// it gives up with an error, after everything else maintenance does is
// done, and leaves
// nothing in the lookup's way. The next run, once the transaction has
// ended, builds the index.
func TestMaintain_LookupIndexBuildGivesUpBehindAnOpenTransaction(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	old := buildLockTimeout
	buildLockTimeout = "200ms"
	t.Cleanup(func() { buildLockTimeout = old })
	ws := workspace(t, db)
	insert(t, db, ws, "expired", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) // default partition, past retention
	open := snapshotHolder(t, db)
	err := Maintain(ctx, db, wednesday, retention)
	if err == nil || !strings.Contains(err.Error(), "lookup index") {
		t.Fatalf("Maintain behind an open transaction: %v, want the lookup index's lock timeout", err)
	}
	if got := partitionNames(t, db); len(got) != 2+Ahead+Behind {
		t.Fatalf("partitions %v: the weeks were not made before the build", got)
	}
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM usage_events WHERE event_id = 'expired'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d expired events left in the default partition (%v)", left, err)
	}
	builtAfterTheBuildFailed(t, db, ws, open)
}

// A shutdown during the build (an hour and more for a week of billions of
// events) stops it rather than waiting for it. The build here waits behind
// an open transaction for buildLockTimeout (30 s); Maintain returns the
// context's error while that transaction is still open, so it neither
// waited for the transaction nor timed out. No build is left running, the
// failed build is never used, and the next run builds the index.
func TestMaintain_ShutdownStopsTheLookupIndexBuild(t *testing.T) {
	db := pgtest.New(t).SQL
	ctx := context.Background()
	ws := workspace(t, db)
	open := snapshotHolder(t, db)
	running := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND state = 'active' AND query LIKE 'CREATE INDEX CONCURRENTLY%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	stop, shutdown := context.WithCancel(ctx)
	defer shutdown()
	result := make(chan error, 1)
	go func() { result <- Maintain(stop, db, wednesday, retention) }()
	for deadline := time.Now().Add(20 * time.Second); running() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the build never started")
		}
	}
	shutdown()
	var err error
	select {
	case err = <-result:
	case <-time.After(25 * time.Second):
		t.Fatal("Maintain still building 25 s after the shutdown")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "lookup index") {
		t.Fatalf("Maintain stopped during the build: %v, want the lookup index stopped by the shutdown", err)
	}
	if _, err := open.Exec(`SELECT 1`); err != nil {
		t.Fatalf("the transaction the build waited behind: %v, want still open", err)
	}
	if n := running(); n != 0 {
		t.Fatalf("%d builds still running after Maintain returned", n)
	}
	builtAfterTheBuildFailed(t, db, ws, open)
}

// snapshotHolder is an open transaction holding a snapshot (pg_dump's, an
// operator's report in REPEATABLE READ): a concurrent index build waits
// for it.
func snapshotHolder(t *testing.T, db *sql.DB) *sql.Tx {
	t.Helper()
	open, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { open.Rollback() }) //nolint:errcheck // usually ended by the test
	// The first query takes the transaction's snapshot.
	if _, err := open.Exec(`SELECT count(*) FROM workspaces`); err != nil {
		t.Fatal(err)
	}
	return open
}

// builtAfterTheBuildFailed checks what a lookup index build that failed
// behind open leaves: nothing in the lookup's way (the key still finds
// last week's event), and once open has ended, the next run builds it.
func builtAfterTheBuildFailed(t *testing.T, db *sql.DB, ws string, open *sql.Tx) {
	t.Helper()
	insert(t, db, ws, "lastweek", wednesday.AddDate(0, 0, -7))
	if err := tryInsert(db, ws, "lastweek", wednesday.AddDate(0, 0, -7)); err == nil {
		t.Fatal("the key let a duplicate in beside the failed build")
	}
	if err := open.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := Maintain(context.Background(), db, wednesday, retention); err != nil {
		t.Fatal(err)
	}
	if got, want := lookupIndexesNow(t, db), []string{"usage_events_20261116: hash valid=true"}; !equal(got, want) {
		t.Fatalf("after the transaction ended: lookup indexes %v, want %v", got, want)
	}
}
