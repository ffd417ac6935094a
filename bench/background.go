package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Background is work Postgres does by itself, which competes with a
// measurement for the same cores: a ratio of two passes is read with it
// (one pass with an autovacuum or a checkpoint inside it and the other
// without is not a like-for-like pair).
type Background struct {
	Checkpoints int64 `json:"checkpoints"`
	// AutovacuumRuns counts autovacuum and autoanalyze runs over every
	// table of the bench's database (each partition is a table).
	AutovacuumRuns int64 `json:"autovacuum_runs"`
	// The pass's I/O, to read a ratio by: WAL written (bytes, and how many
	// full-page images: the first change of a page after a checkpoint logs
	// the whole page), blocks this database read from the operating system
	// (not in shared_buffers), and dirty buffers the backends had to write
	// out themselves to make room (the cluster's).
	WALBytes      int64 `json:"wal_bytes"`
	WALFullPages  int64 `json:"wal_full_pages"`
	BlocksRead    int64 `json:"blocks_read"`
	BackendWrites int64 `json:"backend_writes"`
	// TopReads are the tables whose blocks (heap, indexes and TOAST
	// together) were read from the OS most during the pass, most first:
	// which relation BlocksRead came from.
	TopReads []TableCount `json:"top_reads,omitempty"`
	// TopAutovacuumed are the tables with the most autovacuum and
	// autoanalyze runs that ended during the pass (Count counts runs).
	TopAutovacuumed []TableCount `json:"top_autovacuumed,omitempty"`
	// Running is the maintenance seen running in any database of the
	// cluster while the pass ran (autovacuum workers, VACUUM, ANALYZE,
	// CREATE INDEX, CHECKPOINT statements), polled every second, with how
	// many polls saw it: AutovacuumRuns counts only what ended in the pass.
	Running []Seen `json:"running,omitempty"`
}

// TableCount is a count of one table: blocks it read from the OS, or
// autovacuum runs over it.
type TableCount struct {
	Table string `json:"table"`
	Count int64  `json:"count"`
}

// Seen is a piece of maintenance and how many one-second polls saw it.
type Seen struct {
	What  string `json:"what"`
	Polls int    `json:"polls"`
}

// topTablesShown is how many tables TopReads and TopAutovacuumed keep.
const topTablesShown = 3

// snapshot is Background's counters plus each table's blocks read and
// autovacuum runs.
type snapshot struct {
	Background
	reads       map[string]int64
	autovacuums map[string]int64
}

// background reads Postgres's counters of its own work: checkpoints (the
// cluster's) and autovacuum and autoanalyze runs (this database's), and
// the blocks each table of this database has read from the OS.
func (h *harness) background(ctx context.Context) (snapshot, error) {
	var s snapshot
	err := h.db.QueryRowContext(ctx, `SELECT (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter),
		(SELECT COALESCE(sum(autovacuum_count + autoanalyze_count), 0)::bigint FROM pg_stat_all_tables),
		(SELECT wal_bytes::bigint FROM pg_stat_wal), (SELECT wal_fpi FROM pg_stat_wal),
		(SELECT blks_read FROM pg_stat_database WHERE datname = current_database()),
		(SELECT buffers_backend FROM pg_stat_bgwriter)`).Scan(&s.Checkpoints, &s.AutovacuumRuns, &s.WALBytes, &s.WALFullPages, &s.BlocksRead, &s.BackendWrites)
	if err != nil {
		return s, err
	}
	rows, err := h.db.QueryContext(ctx, `SELECT * FROM (SELECT io.schemaname || '.' || io.relname AS t,
			io.heap_blks_read + COALESCE(io.idx_blks_read, 0) + COALESCE(io.toast_blks_read, 0) + COALESCE(io.tidx_blks_read, 0) AS reads,
			st.autovacuum_count + st.autoanalyze_count AS runs
		FROM pg_statio_all_tables io JOIN pg_stat_all_tables st USING (relid)) x WHERE reads > 0 OR runs > 0`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	s.reads, s.autovacuums = map[string]int64{}, map[string]int64{}
	for rows.Next() {
		var table string
		var blocks, runs int64
		if err := rows.Scan(&table, &blocks, &runs); err != nil {
			return s, err
		}
		s.reads[table], s.autovacuums[table] = blocks, runs
	}
	return s, rows.Err()
}

// since is the work that ended between before and s, with what watch saw
// running meanwhile.
func (s snapshot) since(before snapshot, running []Seen) *Background {
	b := &Background{Checkpoints: s.Checkpoints - before.Checkpoints, AutovacuumRuns: s.AutovacuumRuns - before.AutovacuumRuns,
		WALBytes: s.WALBytes - before.WALBytes, WALFullPages: s.WALFullPages - before.WALFullPages,
		BlocksRead: s.BlocksRead - before.BlocksRead, BackendWrites: s.BackendWrites - before.BackendWrites, Running: running}
	b.TopReads = topGrown(before.reads, s.reads, topTablesShown)
	b.TopAutovacuumed = topGrown(before.autovacuums, s.autovacuums, topTablesShown)
	return b
}

// topGrown are the n tables whose count (blocks read, or autovacuum runs)
// grew most between before and after (a table new since before counts all
// of it), most first, ties by name.
func topGrown(before, after map[string]int64, n int) []TableCount {
	var all []TableCount
	for t, blocks := range after {
		if d := blocks - before[t]; d > 0 {
			all = append(all, TableCount{Table: t, Count: d})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].Table < all[j].Table
	})
	return all[:min(n, len(all))]
}

// maintenanceSQL lists the maintenance running in any database of the
// cluster: autovacuum workers, and statements of other sessions that are
// maintenance rather than the service's usage transactions.
const maintenanceSQL = `SELECT COALESCE(datname, '') || ': ' || CASE WHEN backend_type = 'autovacuum worker' THEN query
		ELSE backend_type || ': ' || left(regexp_replace(query, '\s+', ' ', 'g'), 100) END
	FROM pg_stat_activity
	WHERE pid <> pg_backend_pid() AND state = 'active' AND query <> ''
		AND (backend_type = 'autovacuum worker' OR query ~* '^\s*(VACUUM|ANALYZE|CREATE\s+(UNIQUE\s+)?INDEX|REINDEX|CHECKPOINT|CLUSTER)')`

// watch polls maintenanceSQL every interval until ctx ends and returns
// what it saw, with how many polls saw each, most seen first. A poll that
// fails is skipped: the pass goes on without it.
func (h *harness) watch(ctx context.Context, interval time.Duration) []Seen {
	polls := map[string]int{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return seenList(polls)
		case <-t.C:
		}
		rows, err := h.db.QueryContext(ctx, maintenanceSQL)
		if err != nil {
			continue
		}
		for rows.Next() {
			var what string
			if rows.Scan(&what) == nil {
				polls[what]++
			}
		}
		rows.Close()
	}
}

func seenList(polls map[string]int) []Seen {
	var all []Seen
	for what, n := range polls {
		all = append(all, Seen{What: what, Polls: n})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Polls != all[j].Polls {
			return all[i].Polls > all[j].Polls
		}
		return all[i].What < all[j].What
	})
	return all
}

// readsText is TopReads for the report: "table: blocks; …".
func readsText(reads []TableCount) string {
	parts := make([]string, len(reads))
	for i, r := range reads {
		parts[i] = fmt.Sprintf("%s: %s", r.Table, count(float64(r.Count)))
	}
	return strings.Join(parts, "; ")
}

// runningText is Running for the report: "what (n s); …".
func runningText(running []Seen) string {
	parts := make([]string, len(running))
	for i, s := range running {
		parts[i] = fmt.Sprintf("%s (%d s)", strings.ReplaceAll(s.What, "|", `\|`), s.Polls)
	}
	return strings.Join(parts, "; ")
}
