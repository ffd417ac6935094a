package partitions

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/airouter/credits/partitions/week"
)

// WorkingSet is what usage ingestion's duplicate check reads at random,
// event by event, against what Postgres caches, all in bytes. Every event
// inserts into this week's key (random ids) and probes last week's lookup
// index. Measured (docs/scaling.md, "What one Postgres holds"): ingestion
// stays flat as history grows only while both fit in shared_buffers; with
// the default 128 MB and a 278 MB week key every event read a block and
// wrote one out, and ingestion fell to 0.70-0.75 of its empty-table rate.
type WorkingSet struct {
	// ThisWeekKey is the primary key of the week being written (0 when the
	// week has no partition).
	ThisWeekKey int64
	// LastWeekLookup is the index last week's lookup goes through: its hash
	// index once built and valid, else its primary key (0 when the week has
	// no partition).
	LastWeekLookup int64
	// SharedBuffers is Postgres's buffer cache (shared_buffers).
	SharedBuffers int64
}

// Bytes is the dedupe indexes' total: this week's key and last week's
// lookup index.
func (w WorkingSet) Bytes() int64 { return w.ThisWeekKey + w.LastWeekLookup }

// MinSharedBuffers is the smallest shared_buffers that holds the working
// set: twice it, since the other half of the cache holds what ingestion
// also touches on every event (the tail of the partition's heap, the
// ledger's key and rows, balances, rollups) besides what reads bring in.
func (w WorkingSet) MinSharedBuffers() int64 { return 2 * w.Bytes() }

// Oversized reports whether the dedupe indexes take more than half of
// shared_buffers (MinSharedBuffers), from where ingestion slows as they grow.
func (w WorkingSet) Oversized() bool { return w.SharedBuffers < w.MinSharedBuffers() }

// String gives the sizes in MB (Postgres's: 2^20 bytes) to a tenth, for
// operators.
func (w WorkingSet) String() string {
	mb := func(bytes int64) float64 { return float64(bytes) / (1 << 20) }
	return fmt.Sprintf("usage dedupe indexes %.1f MB (this week's key %.1f MB + last week's lookup %.1f MB), shared_buffers %.1f MB",
		mb(w.Bytes()), mb(w.ThisWeekKey), mb(w.LastWeekLookup), mb(w.SharedBuffers))
}

// MB is bytes in whole megabytes (2^20 bytes, as Postgres counts them),
// rounded up so that a size never reads smaller than it is.
func MB(bytes int64) int64 { return (bytes + 1<<20 - 1) >> 20 }

// DedupeWorkingSet measures the working set of the week containing now:
// the sizes on disk (pg_relation_size, main fork) of this week's key and
// last week's lookup index, and shared_buffers. A week without a
// partition counts 0. It reads the catalog and the indexes' sizes, not
// the indexes: cheap, and its brief share locks hold up no insert.
func DedupeWorkingSet(ctx context.Context, db *sql.DB, now time.Time) (WorkingSet, error) {
	this := week.Start(now)
	last := this.AddDate(0, 0, -7)
	// to_regclass is NULL for a partition that does not exist. The keys are
	// found by indisprimary rather than by name (Postgres picks the key's
	// name, <partition>_pkey unless that is taken); the hash index is ours
	// and named by lookupIndexes. An invalid hash index (a build cut short)
	// is not used by the planner, so the lookup then goes through the key:
	// ORDER BY indisprimary puts a valid hash index first. shared_buffers'
	// setting counts blocks of block_size (the unit pg_settings shows as
	// 8kB), not bytes.
	var w WorkingSet
	err := db.QueryRowContext(ctx, `SELECT
		coalesce((SELECT pg_relation_size(x.indexrelid) FROM pg_index x
			WHERE x.indrelid = to_regclass($1) AND x.indisprimary), 0),
		coalesce((SELECT pg_relation_size(x.indexrelid) FROM pg_index x
			WHERE x.indrelid = to_regclass($2)
				AND (x.indisprimary OR (x.indexrelid = to_regclass($3) AND x.indisvalid))
			ORDER BY x.indisprimary LIMIT 1), 0),
		(SELECT setting::bigint * current_setting('block_size')::bigint FROM pg_settings WHERE name = 'shared_buffers')`,
		Name(this), Name(last), Name(last)+lookupSuffix).Scan(&w.ThisWeekKey, &w.LastWeekLookup, &w.SharedBuffers)
	if err != nil {
		return WorkingSet{}, fmt.Errorf("partitions: measure the dedupe working set: %w", err)
	}
	return w, nil
}
