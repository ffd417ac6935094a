package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Settings is what a run measured with, recorded next to its figures.
type Settings struct {
	Duration       string   `json:"duration"`
	Warmup         string   `json:"warmup"`
	Clients        int      `json:"clients"`
	Batch          int      `json:"batch"`
	AuthorizeRPS   int      `json:"authorize_rps"`
	BalanceRPS     int      `json:"balance_rps"`
	ManyWorkspaces int      `json:"many_workspaces"`
	PgbenchScale   int      `json:"pgbench_scale"`
	Scenarios      []string `json:"scenarios,omitempty"`  // empty: all
	ServerEnv      []string `json:"server_env,omitempty"` // -server-env settings
	Prefill        int64    `json:"prefill,omitempty"`
	GrowthRounds   int      `json:"growth_rounds,omitempty"`
	// LoadSlice: the floor and authorize were measured side by side,
	// alternating in slices this long (empty: one after the other, before
	// 30 Nov 2026).
	LoadSlice     string `json:"load_slice,omitempty"`
	Short         bool   `json:"short"`
	CPUs          int    `json:"cpus"`
	GoVersion     string `json:"go_version"`
	Postgres      string `json:"postgres"`
	SharedBuffers string `json:"shared_buffers,omitempty"`
	// PrivatePostgres: the run started its own cluster (-shared-buffers).
	PrivatePostgres bool `json:"private_postgres,omitempty"`
}

// Results is one harness run. Sections of scenarios not run are absent.
type Results struct {
	At             time.Time        `json:"at"`
	Settings       Settings         `json:"settings"`
	Ingest         []IngestResult   `json:"ingest,omitempty"`
	Floor          *OpenLoopResult  `json:"floor,omitempty"`
	Authorize      *AuthorizeResult `json:"authorize,omitempty"`
	Balance        *OpenLoopResult  `json:"graphql_balance,omitempty"`
	Pgbench        *PgbenchResult   `json:"pgbench,omitempty"`
	PgbenchSkipped string           `json:"pgbench_skipped,omitempty"`
	Limit          *LimitResult     `json:"limit,omitempty"`
	Storage        *StorageResult   `json:"usage_events_storage,omitempty"` // at the end of the run
	Prefill        *PrefillResult   `json:"prefill,omitempty"`
	PeakRSSKiB     int64            `json:"server_peak_rss_kib,omitempty"`
	ServerLogLines int              `json:"server_log_lines"`     // warnings and errors the server logged
	ServerLog      []string         `json:"server_log,omitempty"` // the first few of them
	Invariant      *Invariant       `json:"invariant,omitempty"`
	// Ratios against the baselines of the same run (0: not measured).
	HotRatio    float64 `json:"ingest_1_workspace_over_hot_row_tps,omitempty"`
	FloorRatio  float64 `json:"authorize_p99_over_floor_p99,omitempty"`
	ManyRatio   float64 `json:"ingest_many_workspaces_over_tpcb_like_tps,omitempty"`
	LimitRatio1 float64 `json:"ingest_1_workspace_over_limit,omitempty"`
	LimitRatioN float64 `json:"ingest_many_workspaces_over_limit,omitempty"`
	// LimitRatioSpread compares the many-workspace ingestion with the ideal
	// transaction doing the same work (limit_spread.sql).
	LimitRatioSpread float64 `json:"ingest_many_workspaces_over_limit_spread,omitempty"`
	TotalSeconds     float64 `json:"total_seconds"`
}

// ingest returns a scenario's result, or nil when it did not run.
func (r *Results) ingest(scenario string) *IngestResult { return find(r.Ingest, scenario, 0) }

// prefillInvariants are the ledger checks of a growth run's other
// databases: the first pass's and the baselines' copies (nil if not run).
func (r *Results) prefillInvariants() []*Invariant {
	if r.Prefill == nil {
		return nil
	}
	all := []*Invariant{r.Prefill.FirstPassInvariant}
	for i := range r.Prefill.BaselineInvariants {
		all = append(all, &r.Prefill.BaselineInvariants[i])
	}
	return all
}

// invariantFigure is a ledger check's verdict as the table shows it.
func invariantFigure(inv Invariant) string {
	verdict := "PASS"
	if !inv.OK {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s: %s workspaces checked, %d failed", verdict, count(float64(inv.Checked)), inv.Failed)
}

func (r *Results) computeRatios() {
	if r.Floor != nil && r.Authorize != nil && r.Floor.P99 > 0 {
		r.FloorRatio = r.Authorize.P99 / r.Floor.P99
	}
	if l := r.Limit; l != nil {
		if in := r.ingest(scIngest1); in != nil && l.EventsPS1 > 0 {
			r.LimitRatio1 = in.DeductionsPS / l.EventsPS1
		}
		if in := r.ingest(scIngestMany); in != nil && l.EventsPSMany > 0 {
			r.LimitRatioN = in.DeductionsPS / l.EventsPSMany
		}
		if in := r.ingest(scIngestMany); in != nil && l.EventsPSSpread > 0 {
			r.LimitRatioSpread = in.DeductionsPS / l.EventsPSSpread
		}
	}
	if r.Pgbench == nil {
		return
	}
	if in := r.ingest(scIngest1); in != nil && r.Pgbench.HotRowTPS > 0 {
		r.HotRatio = in.DeductionsPS / r.Pgbench.HotRowTPS
	}
	if in := r.ingest(scIngestMany); in != nil && r.Pgbench.TPCBLikeTPS > 0 {
		r.ManyRatio = in.DeductionsPS / r.Pgbench.TPCBLikeTPS
	}
}

func (r *Results) authorizeLoop() *OpenLoopResult {
	if r.Authorize == nil {
		return nil
	}
	return &r.Authorize.OpenLoopResult
}

// count formats a rate or count rounded, with thousands separators.
func count(f float64) string {
	s := strconv.FormatInt(int64(math.Round(f)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// backgroundNote adds the row of Postgres's own work during an ingestion
// pass, when it was read.
func backgroundNote(note func(name, figure string), pass string, b *Background, events, dedupeIndexBytes int64) {
	if b != nil {
		note(pass+": Postgres's own work that ended during the pass: checkpoints; autovacuum and autoanalyze runs",
			fmt.Sprintf("%d; %d", b.Checkpoints, b.AutovacuumRuns))
	}
	if b != nil && events > 0 {
		per := func(n int64) string { return strconv.FormatFloat(float64(n)/float64(events), 'f', 3, 64) }
		note(pass+": Postgres's I/O per event: WAL bytes; full-page images; blocks read from the OS; dirty buffers written by backends",
			fmt.Sprintf("%.0f; %s; %s; %s", float64(b.WALBytes)/float64(events), per(b.WALFullPages), per(b.BlocksRead), per(b.BackendWrites)))
	}
	if b != nil && len(b.TopReads) > 0 {
		note(pass+": tables that read most blocks from the OS during the pass (heap, indexes and TOAST)", readsText(b.TopReads))
	}
	if b != nil && len(b.TopAutovacuumed) > 0 {
		note(pass+": tables with the most autovacuum and autoanalyze runs that ended during the pass", readsText(b.TopAutovacuumed))
	}
	if b != nil && len(b.Running) > 0 {
		note(pass+": maintenance seen running in the cluster during the pass (database: what; one-second polls that saw it)", runningText(b.Running))
	}
	if dedupeIndexBytes > 0 {
		note(pass+": this week's key + last week's lookup index when the pass began (credits_usage_dedupe_index_bytes), MB",
			strconv.FormatFloat(float64(dedupeIndexBytes)/(1<<20), 'f', 1, 64))
	}
}

func ms(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// Markdown is the results table, every figure and the ratios in one place.
func (r Results) Markdown() string {
	var b strings.Builder
	s := r.Settings
	fmt.Fprintf(&b, "## credits bench, %s\n\n", r.At.Format(time.RFC3339))
	pg := "Postgres " + s.Postgres
	if s.SharedBuffers != "" {
		pg += ", shared_buffers " + s.SharedBuffers
	}
	if s.PrivatePostgres {
		pg += " (a private cluster started for this run)"
	}
	fmt.Fprintf(&b, "%d CPUs, load generator on the same machine; %d clients, batches of %d events, %s per measurement; "+
		"%s, %s; one run, same Postgres for every row; total %s.\n\n",
		s.CPUs, s.Clients, s.Batch, s.Duration, pg, s.GoVersion, time.Duration(r.TotalSeconds*float64(time.Second)).Round(time.Second).String())
	b.WriteString("| measurement | figure | p50 ms | p99 ms | p999 ms | errors |\n|---|---:|---:|---:|---:|---:|\n")
	row := func(name, figure, p50, p99, p999 string, errs int64) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", name, figure, p50, p99, p999, errs)
	}
	note := func(name, figure string) { fmt.Fprintf(&b, "| %s | %s | | | | |\n", name, figure) }
	for _, in := range r.Ingest {
		name := fmt.Sprintf("ingest, %s workspace(s): deductions/s (%s req/s)", count(float64(in.Workspaces)), count(in.RequestsPS))
		if in.EventsRejected > 0 {
			name += fmt.Sprintf(", %s events rejected", count(float64(in.EventsRejected)))
		}
		row(name, count(in.DeductionsPS), ms(in.P50), ms(in.P99), "", in.Errors)
		if in.SettleLagMax > 0 {
			note(fmt.Sprintf("ingest, %s workspace(s): longest wait of deferred usage for its settlement (the balances' staleness), ms",
				count(float64(in.Workspaces))), ms(in.SettleLagMax*1000))
		}
		backgroundNote(note, fmt.Sprintf("ingest, %s workspace(s)", count(float64(in.Workspaces))), in.Background, in.EventsAccepted, in.DedupeIndexBytes)
	}
	if f := r.Floor; f != nil {
		side := ""
		if r.Authorize != nil && r.Settings.LoadSlice != "" {
			side = fmt.Sprintf(", side by side with authorize in slices of %s", r.Settings.LoadSlice)
		}
		row(fmt.Sprintf("floor: the same load against a do-nothing net/http server at %s rps offered%s: achieved rps", count(float64(f.OfferedRPS)), side),
			count(f.AchievedRPS), ms(f.P50), ms(f.P99), ms(f.P999), f.Errors)
	}
	if a := r.Authorize; a != nil {
		row(fmt.Sprintf("authorize at %s rps offered: achieved rps (usage charged underneath: %s events)", count(float64(a.OfferedRPS)), count(float64(a.ChurnEvents))),
			count(a.AchievedRPS), ms(a.P50), ms(a.P99), ms(a.P999), a.Errors+a.ChurnErrors)
	}
	if g := r.Balance; g != nil {
		row(fmt.Sprintf("GraphQL balance at %s rps offered: achieved rps", count(float64(g.OfferedRPS))),
			count(g.AchievedRPS), ms(g.P50), ms(g.P99), ms(g.P999), g.Errors)
	}
	if p := r.Pgbench; p != nil {
		note(fmt.Sprintf("pgbench tpcb-like (scale %d): tps", p.Scale), count(p.TPCBLikeTPS))
		note("pgbench hot row (1 UPDATE + 1 INSERT per transaction, one row): tps", count(p.HotRowTPS))
	} else if r.PgbenchSkipped != "" {
		note("pgbench", "skipped: "+r.PgbenchSkipped)
	}
	if l := r.Limit; l != nil {
		note(fmt.Sprintf("limit: the ideal usage transaction in pgbench (%d events + 1 ledger row + 1 balance UPDATE, 1 client), 1 workspace: events/s", limitEventsPerTx),
			count(l.EventsPS1))
		note(fmt.Sprintf("limit, a random one of %s workspaces per transaction: events/s", count(float64(l.Workspaces))), count(l.EventsPSMany))
		note(fmt.Sprintf("limit, each transaction's %d events spread over %d of %s workspaces (1 ledger row + 1 balance update each, as the service's ingestion of many workspaces must write): events/s",
			limitEventsPerTx, limitEventsPerTx, count(float64(l.Workspaces))), count(l.EventsPSSpread))
	}
	if r.LimitRatio1 > 0 {
		note("**ratio** ingest 1 workspace ÷ limit 1 workspace (goal ≥ 0.5)", fmt.Sprintf("**%.2f**", r.LimitRatio1))
	}
	if r.LimitRatioN > 0 {
		note(fmt.Sprintf("**ratio** ingest %s workspaces ÷ limit %s workspaces (goal ≥ 0.3)", count(float64(r.ingest(scIngestMany).Workspaces)), count(float64(r.Limit.Workspaces))),
			fmt.Sprintf("**%.2f**", r.LimitRatioN))
	}
	if r.LimitRatioSpread > 0 {
		note(fmt.Sprintf("**ratio** ingest %s workspaces ÷ limit spread over %s workspaces (the same work)", count(float64(r.ingest(scIngestMany).Workspaces)), count(float64(r.Limit.Workspaces))),
			fmt.Sprintf("**%.2f**", r.LimitRatioSpread))
	}
	if p := r.Prefill; p != nil {
		if inv := p.FirstPassInvariant; inv != nil {
			note("ledger invariant of the first passes' database (the growth passes run on copies made before them)", invariantFigure(*inv))
		}
		note(fmt.Sprintf("prefill: %s synthetic events loaded (over every workspace, random ids, evenly over the span that ends when this week ends), seconds", count(float64(p.Events))),
			count(p.Seconds))
		note(fmt.Sprintf("prefill: events in the week being written (from %s), which every live event's insert checks", p.Week.Start.Format("Mon 2 Jan")),
			count(float64(p.Week.Events)))
		note("usage_events after the prefill: bytes per event (heap + indexes); GB, of which indexes",
			fmt.Sprintf("%.0f; %.2f, %.2f", p.Storage.BytesPerEvent, float64(p.Storage.Bytes)/1e9, float64(p.Storage.IndexBytes)/1e9))
		for _, in := range p.Ingest {
			round := ""
			if r.Settings.GrowthRounds > 1 {
				round = fmt.Sprintf(", round %d", in.Round)
			}
			if base := find(p.Baseline, in.Scenario, in.Round); base != nil {
				row(fmt.Sprintf("baseline%s: ingest, %s workspace(s), on a copy of the database made before any load, right before its grown pass: deductions/s (%s req/s)",
					round, count(float64(base.Workspaces)), count(base.RequestsPS)), count(base.DeductionsPS), ms(base.P50), ms(base.P99), "", base.Errors)
				backgroundNote(note, fmt.Sprintf("baseline%s: ingest, %s workspace(s)", round, count(float64(base.Workspaces))), base.Background, base.EventsAccepted, base.DedupeIndexBytes)
			}
			grown := fmt.Sprintf("ingest%s, %s workspace(s), at %s existing events", round, count(float64(in.Workspaces)), count(float64(p.Events)))
			row(fmt.Sprintf("%s: deductions/s (%s req/s)", grown, count(in.RequestsPS)), count(in.DeductionsPS), ms(in.P50), ms(in.P99), "", in.Errors)
			backgroundNote(note, grown, in.Background, in.EventsAccepted, in.DedupeIndexBytes)
			if pairs := p.pairs(in.Scenario); in.Round == len(pairs) && len(pairs) > 0 {
				var each []string
				for _, x := range pairs {
					each = append(each, fmt.Sprintf("%.2f", x))
				}
				note(fmt.Sprintf("**ratio** ingest at %s existing events ÷ on an empty table, %s workspace(s), each round's grown pass ÷ its baseline right before: %s; the median (goal ≥ 0.8)",
					count(float64(p.Events)), count(float64(in.Workspaces)), strings.Join(each, ", ")), fmt.Sprintf("**%.2f**", median(pairs)))
				if g := p.growth(r, in.Scenario, false); g > 0 {
					note(fmt.Sprintf("ratio ingest at %s existing events (round 1) ÷ on an empty table (the run's first pass, before the prefill, minutes earlier), %s workspace(s)",
						count(float64(p.Events)), count(float64(in.Workspaces))), fmt.Sprintf("%.2f", g))
				}
			}
		}
		for i, inv := range p.BaselineInvariants {
			note(fmt.Sprintf("baseline: ledger invariant of copy %d", i+1), invariantFigure(inv))
		}
		if c := p.Control; c != nil {
			// The control: the ideal transaction on the service's own
			// workspaces, fresh and grown, so that the service's growth can be
			// read against Postgres's own for the same writes.
			for _, k := range []struct {
				name         string
				empty, grown float64
				scenario     string
			}{{"1 workspace", c.Empty1, c.Grown1, scIngest1}, {fmt.Sprintf("spread over %s workspaces", count(float64(c.Workspaces))), c.EmptySpread, c.GrownSpread, scIngestMany}} {
				if k.empty <= 0 {
					continue
				}
				note(fmt.Sprintf("control: the ideal transaction (limit_growth.sql), %s of the service's, empty → at %s existing events: events/s; ratio",
					k.name, count(float64(p.Events))), fmt.Sprintf("%s → %s; %.2f", count(k.empty), count(k.grown), k.grown/k.empty))
				g := p.growth(r, k.scenario, true)
				if g == 0 {
					g = p.growth(r, k.scenario, false)
				}
				if g > 0 {
					note(fmt.Sprintf("**ratio** the service's growth ÷ the control's, %s", k.name), fmt.Sprintf("**%.2f**", g/(k.grown/k.empty)))
				}
			}
		}
	}
	if s := r.Storage; s != nil && s.Events > 0 {
		note(fmt.Sprintf("usage_events at the end: %s events, bytes per event (heap + indexes)", count(float64(s.Events))),
			fmt.Sprintf("%.0f", s.BytesPerEvent))
	}
	if r.FloorRatio > 0 {
		note("**ratio** authorize p99 ÷ floor p99", fmt.Sprintf("**%.2f×**", r.FloorRatio))
	}
	for _, l := range []struct {
		name string
		r    *OpenLoopResult
	}{{"floor", r.Floor}, {"authorize", r.authorizeLoop()}, {"GraphQL balance", r.Balance}} {
		if l.r != nil {
			note("generator's own dispatch lag p99 (in the latencies above), ms: "+l.name, ms(l.r.LagP99))
			if l.r.ServerCPUus > 0 {
				note("CPU per request, µs, server / generator: "+l.name, fmt.Sprintf("%.1f / %.1f", l.r.ServerCPUus, l.r.GeneratorCPUus))
			}
		}
	}
	if r.HotRatio > 0 {
		note("**ratio** ingest 1 workspace ÷ pgbench hot row", fmt.Sprintf("**%.1f×**", r.HotRatio))
	}
	if r.ManyRatio > 0 {
		note(fmt.Sprintf("**ratio** ingest %s workspaces ÷ pgbench tpcb-like", count(float64(r.ingest(scIngestMany).Workspaces))),
			fmt.Sprintf("**%.1f×**", r.ManyRatio))
	}
	if r.PeakRSSKiB > 0 {
		note("server peak RSS (VmHWM), MiB", fmt.Sprintf("%.1f", float64(r.PeakRSSKiB)/1024))
		note("server log lines at warn or above (besides the sandbox notice)", strconv.Itoa(r.ServerLogLines))
	}
	if inv := r.Invariant; inv != nil {
		note("ledger invariant (balance = Σ ledger = initial − Σ event costs)", invariantFigure(*inv))
	}
	// Details after the table, so it stays one table.
	for _, inv := range append([]*Invariant{r.Invariant}, r.prefillInvariants()...) {
		if inv != nil {
			for _, ex := range inv.Examples {
				fmt.Fprintf(&b, "\n- invariant FAIL %s", ex)
			}
		}
	}
	for _, l := range r.ServerLog {
		fmt.Fprintf(&b, "\n- server log: `%s`", l)
	}
	for _, in := range r.Ingest {
		if in.FirstError != "" {
			fmt.Fprintf(&b, "\n- %s, first error: %s", in.Scenario, in.FirstError)
		}
	}
	if a := r.Authorize; a != nil && a.FirstError != "" {
		fmt.Fprintf(&b, "\n- authorize, first error: %s", a.FirstError)
	}
	if f := r.Floor; f != nil && f.FirstError != "" {
		fmt.Fprintf(&b, "\n- floor, first error: %s", f.FirstError)
	}
	if g := r.Balance; g != nil && g.FirstError != "" {
		fmt.Fprintf(&b, "\n- GraphQL balance, first error: %s", g.FirstError)
	}
	b.WriteString("\n")
	return b.String()
}

// Write saves the results as <UTC timestamp>.json/.md and latest.json/.md.
func (r Results) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	md := []byte(r.Markdown())
	for _, name := range []string{r.At.Format("20060102T150405Z"), "latest"} {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), append(j, '\n'), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".md"), md, 0o644); err != nil {
			return err
		}
	}
	return nil
}
