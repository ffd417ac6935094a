package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/airouter/credits/partitions"
	"github.com/airouter/credits/partitions/week"
)

// prefillBatch is the ledger reference of every prefilled event: they were
// never charged, so the invariant check leaves them out.
const prefillBatch = "00000000-0000-4000-8000-00000000f111"

// prefillChunk is how many events one INSERT … SELECT writes.
const prefillChunk = 1_000_000

// defaultPrefillSpan is how long the prefilled events span: a year, in
// time order (as history arrives), over every bench workspace.
const defaultPrefillSpan = 365 * 24 * time.Hour

// retention is the server's default USAGE_RETENTION, which the bench's
// partition maintenance uses too: events older than it are in no week's
// partition (they would land in the default one, kept for deletion).
const retention = 400 * 24 * time.Hour

// PrefillWeek is where the prefill left the week being written.
type PrefillWeek struct {
	Start time.Time `json:"week_start"`
	// Events is how many prefilled events the week holds: its key is
	// what every live event's insert checks (docs/scaling.md).
	Events int64 `json:"prefilled_events_this_week"`
}

// prefill loads n synthetic events into usage_events, spread round-robin
// over the given workspaces and evenly over the span that ends when this
// UTC week ends, with random ids (like a router's), then vacuums and
// analyzes the table and checkpoints, so the measurement after it starts
// from a settled database: a service that wrote these events over a year
// had autovacuum go over them long ago, while right after a bulk load it
// would be vacuuming them on the same two cores during the measurement.
//
// Why up to the end of the week, not now: the events being ingested go
// into this week's partition and are checked against its key, which holds
// the week so far. Ending at now, the state measured would depend on the
// day of the run (a Monday's week holds almost nothing, a Sunday's a full
// week); ending at the week's end, it is always the fullest one, the state
// a Sunday night meets. Events dated up to a week ahead could not come
// from the router, but for the key they are a week's history like any.
func (h *harness) prefill(ctx context.Context, n int64, workspaces []string) (PrefillWeek, error) {
	now := time.Now()
	thisWeek := week.Start(now)
	end := thisWeek.AddDate(0, 0, 7)
	span := h.cfg.PrefillSpan
	from := end.Add(-span)
	// A service that ran for the past year made each week's partition as
	// the week came: make them all, as its maintenance would have.
	for _, at := range []time.Time{from, now} {
		if err := partitions.Maintain(ctx, h.db, at, retention); err != nil {
			return PrefillWeek{}, fmt.Errorf("prefill partitions: %w", err)
		}
	}
	step := float64(span) / float64(n)
	started := time.Now()
	for lo := int64(0); lo < n; lo += prefillChunk {
		hi := min(n, lo+prefillChunk) - 1
		if _, err := h.db.ExecContext(ctx, `INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens,
			cached_input_tokens, traces, cost, trace_cost, batch, event_id, model)
			SELECT ($1::uuid[])[1 + g % $2], $3::timestamptz + (g * $4::float8) * interval '1 microsecond',
				1000 + g % 500, 200 + g % 100, g % 50, g % 2, 270000 + g % 1000, (g % 2) * 500, $5::uuid, gen_random_uuid()::text,
				(ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'o4-mini'])[1 + g % 5]
			FROM generate_series($6::bigint, $7::bigint) AS g`,
			pq.Array(workspaces), len(workspaces), from, step/float64(time.Microsecond), prefillBatch, lo, hi); err != nil {
			return PrefillWeek{}, fmt.Errorf("prefill events %d..%d: %w", lo, hi, err)
		}
		if done := hi + 1; done%(10*prefillChunk) == 0 || done == n {
			h.progress("prefill: %d of %d events (%.0f events/s)", done, n, float64(done)/time.Since(started).Seconds())
		}
	}
	w := PrefillWeek{Start: thisWeek}
	if err := h.db.QueryRowContext(ctx, `SELECT count(*) FROM usage_events WHERE occurred_at >= $1`, thisWeek).Scan(&w.Events); err != nil {
		return w, fmt.Errorf("prefill: this week's events: %w", err)
	}
	h.progress("prefill: vacuuming and analyzing usage_events, checkpoint")
	if _, err := h.db.ExecContext(ctx, `VACUUM (ANALYZE) usage_events`); err != nil {
		return w, fmt.Errorf("prefill vacuum: %w", err)
	}
	_, err := h.db.ExecContext(ctx, `CHECKPOINT`)
	return w, err
}

// settleDatabase waits for the server to settle deferred usage, then
// vacuums and analyzes what ingestion wrote and checkpoints, so that
// work is not left to run inside the next measurement. Of usage_events it
// takes the partitions ingestion writes to (this week's, and last week's
// in case Monday midnight passed since): vacuuming the parent would also
// analyze every week of a prefilled year, minutes of reading for nothing.
func (h *harness) settleDatabase(ctx context.Context) error {
	if err := h.waitSettled(ctx); err != nil {
		return err
	}
	this := week.Start(time.Now())
	var weeks []string
	rows, err := h.db.QueryContext(ctx, `SELECT c.oid::regclass::text FROM pg_class c WHERE c.relname = ANY($1) ORDER BY 1`,
		pq.Array([]string{partitions.Name(this), partitions.Name(this.AddDate(0, 0, -7))}))
	if err != nil {
		return fmt.Errorf("this week's partitions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return err
		}
		weeks = append(weeks, t)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	tables := append(weeks, "usage_events_default", "usage_rollups", "usage_accruals", "ledger_entries", "workspaces", "trace_counters")
	// One session, which flushes its statistics before it answers the
	// last statement: a backend keeps its counts up to ten seconds after
	// going idle, so the blocks this vacuum read would otherwise be counted
	// in the next pass (seen: every pass "read" the workspaces table,
	// which only this ANALYZE reads).
	conn, err := h.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range []string{`VACUUM (ANALYZE) ` + strings.Join(tables, ", "), `CHECKPOINT`, `SELECT pg_stat_force_next_flush()`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("settling after ingestion: %s: %w", q, err)
		}
	}
	return nil
}

// StorageResult is what usage_events takes on disk, over all partitions.
type StorageResult struct {
	Events        int64   `json:"events"`
	Bytes         int64   `json:"bytes"`           // heap, TOAST and indexes
	IndexBytes    int64   `json:"index_bytes"`     // of which indexes
	BytesPerEvent float64 `json:"bytes_per_event"` // heap + indexes
}

// storage measures usage_events: pg_total_relation_size over every
// partition (a partitioned table itself has no storage; a plain table is
// its own only leaf), divided by rows.
func (h *harness) storage(ctx context.Context) (StorageResult, error) {
	var s StorageResult
	err := h.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM usage_events),
			COALESCE(sum(pg_total_relation_size(relid)), 0)::bigint, COALESCE(sum(pg_indexes_size(relid)), 0)::bigint
		FROM pg_partition_tree('usage_events') WHERE isleaf`).Scan(&s.Events, &s.Bytes, &s.IndexBytes)
	if err != nil {
		return s, fmt.Errorf("usage_events size: %w", err)
	}
	if s.Events > 0 {
		s.BytesPerEvent = float64(s.Bytes) / float64(s.Events)
	}
	return s, nil
}

// PrefillResult is the growth measurement: the ingestion scenarios run
// again after Events synthetic events were loaded.
type PrefillResult struct {
	Events  int64          `json:"events"`
	Seconds float64        `json:"load_seconds"`
	Storage StorageResult  `json:"storage_after_load"`
	Week    PrefillWeek    `json:"week"`
	Ingest  []IngestResult `json:"ingest_after_load"`
	// Baseline is the same passes on copies of the database made before
	// any load (one per round), each right before its pass in Ingest, both
	// from a settled database: the empty table measured seconds before the
	// grown one. Pairs match by scenario and round.
	Baseline           []IngestResult `json:"ingest_fresh_copy,omitempty"`
	BaselineInvariants []Invariant    `json:"fresh_copy_invariants,omitempty"`
	// FirstPassInvariant is the ledger check of the database the run's
	// first passes wrote to (the grown passes go on a copy made before).
	FirstPassInvariant *Invariant `json:"first_pass_invariant,omitempty"`
	// Control is how much Postgres itself slows at N events for the same
	// writes (nil without the limit scenario or pgbench).
	Control *GrowthControl `json:"control,omitempty"`
}

// growth is the service's ingestion rate at Events existing events ÷ on
// an empty table for a scenario: the median of the rounds' pairs when
// adjacent (each grown pass ÷ its baseline right before), else the first
// round's grown pass ÷ the run's first pass; 0 if a pass is missing.
func (p *PrefillResult) growth(r Results, scenario string, adjacent bool) float64 {
	if adjacent {
		return median(p.pairs(scenario))
	}
	empty, grown := r.ingest(scenario), find(p.Ingest, scenario, 1)
	if empty == nil || grown == nil || empty.DeductionsPS <= 0 {
		return 0
	}
	return grown.DeductionsPS / empty.DeductionsPS
}

// pairs are each round's grown ÷ baseline rate for scenario, in round
// order, for the rounds that have both.
func (p *PrefillResult) pairs(scenario string) []float64 {
	var ratios []float64
	for _, grown := range p.Ingest {
		if grown.Scenario != scenario {
			continue
		}
		if empty := find(p.Baseline, scenario, grown.Round); empty != nil && empty.DeductionsPS > 0 {
			ratios = append(ratios, grown.DeductionsPS/empty.DeductionsPS)
		}
	}
	return ratios
}

// median of xs (the mean of the middle two for an even count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// find is the pass of scenario in round among passes, or nil.
func find(passes []IngestResult, scenario string, round int) *IngestResult {
	for i := range passes {
		if passes[i].Scenario == scenario && passes[i].Round == round {
			return &passes[i]
		}
	}
	return nil
}
