package main

import (
	"context"
	"database/sql"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
)

func TestTopReads_MostFirstOnlyWhatGrew(t *testing.T) {
	before := map[string]int64{"public.a": 10, "public.b": 5, "public.gone": 7}
	after := map[string]int64{"public.a": 10, "public.b": 905, "public.c": 40, "public.d": 40, "public.e": 1}
	got := topGrown(before, after, 3)
	want := []TableCount{{"public.b", 900}, {"public.c", 40}, {"public.d", 40}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("topGrown = %v, want %v", got, want)
	}
	if got := topGrown(after, after, 3); len(got) != 0 {
		t.Errorf("nothing read: %v", got)
	}
}

func TestRunningText_EscapesTheTablesPipe(t *testing.T) {
	got := runningText(seenList(map[string]int{"db: autovacuum: VACUUM public.x": 2, "db: client backend: ANALYZE a|b": 5}))
	if want := `db: client backend: ANALYZE a\|b (5 s); db: autovacuum: VACUUM public.x (2 s)`; got != want {
		t.Errorf("runningText = %q, want %q", got, want)
	}
}

// TestWatch_SeesMaintenanceWhileItRuns runs a CREATE INDEX that takes
// about two seconds on another connection and checks that the poll saw
// it, and did not list its own query.
func TestWatch_SeesMaintenanceWhileItRuns(t *testing.T) {
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		url = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	conn, err := db.Conn(ctx) // the temporary table is this session's
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`CREATE TEMP TABLE watch_me AS SELECT g FROM generate_series(1, 4) AS g`,
		`CREATE FUNCTION pg_temp.slowly(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN x; END $$`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{db: db}
	watchCtx, stop := context.WithCancel(ctx)
	seen := make(chan []Seen, 1)
	go func() { seen <- h.watch(watchCtx, 100*time.Millisecond) }()
	if _, err := conn.ExecContext(ctx, `CREATE INDEX watch_me_slowly ON watch_me (pg_temp.slowly(g))`); err != nil {
		t.Fatal(err)
	}
	stop()
	got := <-seen
	var index []Seen
	for _, s := range got {
		if strings.Contains(s.What, "pg_stat_activity") {
			t.Errorf("the poll listed itself: %q", s.What)
		}
		if strings.Contains(s.What, "CREATE INDEX watch_me_slowly") {
			index = append(index, s)
		}
	}
	if len(index) != 1 || index[0].Polls < 5 || !strings.Contains(index[0].What, ": client backend: ") {
		t.Errorf("the 2 s CREATE INDEX seen as %v (all: %v)", index, got)
	}
}

// TestDropDatabase_OnlyOneTheBenchMade: dropping the limit's scratch
// database early must never reach a database the bench did not create.
func TestDropDatabase_OnlyOneTheBenchMade(t *testing.T) {
	h := &harness{adminURL: "postgres://postgres@127.0.0.1:1/postgres", databases: []string{"credits_limit_a"}}
	if err := h.dropDatabase(t.Context(), "postgres://postgres@127.0.0.1:5432/credits?sslmode=disable"); err == nil || !strings.Contains(err.Error(), "not one the bench made") {
		t.Errorf("dropping a database the bench did not make: %v", err)
	}
	if len(h.databases) != 1 {
		t.Errorf("databases %v", h.databases)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{0.7}, 0.7}, {[]float64{0.9, 0.7, 0.8}, 0.8}, {[]float64{1.0, 0.6}, 0.8}, {[]float64{0.5, 0.9, 0.9, 0.1}, 0.7}} {
		if got := median(c.xs); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

// TestPairs_MatchByRound: each grown pass is divided by the baseline of its
// own round and scenario, never another's, and a round without a baseline
// is left out.
func TestPairs_MatchByRound(t *testing.T) {
	p := PrefillResult{
		Baseline: []IngestResult{{Scenario: scIngest1, Round: 1, DeductionsPS: 100}, {Scenario: scIngestMany, Round: 1, DeductionsPS: 50},
			{Scenario: scIngest1, Round: 2, DeductionsPS: 200}},
		Ingest: []IngestResult{{Scenario: scIngest1, Round: 1, DeductionsPS: 90}, {Scenario: scIngestMany, Round: 1, DeductionsPS: 40},
			{Scenario: scIngest1, Round: 2, DeductionsPS: 150}, {Scenario: scIngestMany, Round: 2, DeductionsPS: 45}},
	}
	if got := p.pairs(scIngest1); !reflect.DeepEqual(got, []float64{0.9, 0.75}) {
		t.Errorf("1 workspace pairs %v", got)
	}
	if got := p.pairs(scIngestMany); !reflect.DeepEqual(got, []float64{0.8}) {
		t.Errorf("many workspaces pairs %v", got)
	}
	if got := p.growth(Results{}, scIngest1, true); got < 0.825-1e-9 || got > 0.825+1e-9 {
		t.Errorf("growth %v, want the median 0.825", got)
	}
}
