package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// run is the whole harness: find Postgres, set up the server on a fresh
// database, measure the selected scenarios, check the ledger, run the
// pgbench baselines, and tear everything down whatever happens.
func run(ctx context.Context, cfg Config) (Results, error) {
	began := time.Now()
	res := Results{At: began.UTC(), Settings: settingsOf(cfg)}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	// A full run needs the baselines; say so before minutes of measuring.
	if _, err := exec.LookPath("pgbench"); err != nil && cfg.has(scPgbench) && !cfg.Short {
		return res, fmt.Errorf("%w (install postgresql-client, or run without pgbench: -scenarios)", errNoPgbench)
	}
	h, err := newHarness(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer h.close()
	if testHookCluster != nil {
		testHookCluster(h)
	}
	res.Settings.Postgres, res.Settings.SharedBuffers = h.postgresSettings(ctx)
	res.Settings.PrivatePostgres = h.cluster != ""
	if cfg.needsServer() {
		if err := h.measureServer(ctx, &res); err != nil {
			return res, err
		}
	}
	if cfg.has(scPgbench) {
		h.progress("pgbench baselines (scale %d, %d clients, %s each)", cfg.PgbenchScale, cfg.Clients, cfg.Duration)
		pg, err := h.pgbench(ctx)
		switch {
		case errors.Is(err, errNoPgbench) && cfg.Short:
			res.PgbenchSkipped = err.Error()
		case err != nil:
			return res, err
		default:
			res.Pgbench = &pg
		}
	}
	if cfg.has(scLimit) && res.Limit == nil && res.PgbenchSkipped == "" {
		if err := h.measureLimit(ctx, &res); err != nil {
			return res, err
		}
	}
	res.computeRatios()
	res.TotalSeconds = time.Since(began).Seconds()
	return res, ctx.Err()
}

// measureServer runs the scenarios against the server, then reads its
// peak RSS and checks the ledger of every workspace.
func (h *harness) measureServer(ctx context.Context, res *Results) error {
	h.progress("building the server, migrating a fresh database")
	if err := h.setUpServer(ctx); err != nil {
		return err
	}
	for _, sc := range h.ingestion() {
		res.Ingest = append(res.Ingest, h.ingestPass(ctx, "", sc))
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	// The limit right after the passes it is the denominator of, so that
	// ingest ÷ limit is not also the machine's drift over the minutes of
	// the other scenarios (the limit, measured last, moved from 55,000 to
	// 103,000 events/s between two runs an hour apart).
	if len(res.Ingest) > 0 && h.cfg.has(scLimit) {
		if err := h.measureLimit(ctx, res); err != nil {
			return err
		}
	}
	if n := h.cfg.Prefill; n > 0 {
		p := &PrefillResult{Events: n}
		// The first pass's database is done with: the growth passes run on
		// copies made before it (copyForGrowth). Its ledger is checked now.
		if err := h.settleDatabase(ctx); err != nil {
			return err
		}
		inv, err := h.checkInvariant(ctx)
		if err != nil {
			return err
		}
		p.FirstPassInvariant = &inv
		if err := h.restartOn(ctx, h.grownURL); err != nil {
			return err
		}
		all := append(append(append([]string{}, h.hot...), h.hundred...), h.many...)
		h.progress("prefill: loading %d events over %d workspaces and the year up to the end of this week", n, len(all))
		began := time.Now()
		if p.Week, err = h.prefill(ctx, n, all); err != nil {
			return err
		}
		p.Seconds = time.Since(began).Seconds()
		if p.Storage, err = h.storage(ctx); err != nil {
			return err
		}
		h.progress("prefill: %d events in %.0f s, %.0f bytes per event", n, p.Seconds, p.Storage.BytesPerEvent)
		// Each grown pass right after its baseline, the same pass on a copy
		// made before any load, so that the growth ratio is not also the
		// machine's drift (its speed moves by ±10 % from one quarter of an
		// hour to the next). In rounds, each baseline on a fresh copy of its
		// own and the grown passes all on the grown database: the ratio is
		// the median of the rounds', and the grown side only grows. Each
		// pass's database is settled before it and after it: the vacuum a
		// pass leaves due on its own database would otherwise run inside the
		// next pass, on the other (seen: a baseline copy's 5 s autovacuum
		// inside the grown pass after it).
		h.progress("growth: %d round(s) of each ingestion pass on a copy made before any load, then on the grown database", len(h.freshURLs))
		for round, fresh := range h.freshURLs {
			for _, sc := range h.ingestion() {
				for _, side := range []struct {
					url, prefix string
					into        *[]IngestResult
				}{{fresh, "baseline-", &p.Baseline}, {h.grownURL, "after-prefill-", &p.Ingest}} {
					if err := h.restartOn(ctx, side.url); err != nil {
						return err
					}
					if err := h.settleDatabase(ctx); err != nil {
						return err
					}
					in := h.ingestPass(ctx, fmt.Sprintf("%sr%d-", side.prefix, round+1), sc)
					in.Round = round + 1
					*side.into = append(*side.into, in)
					if err := ctx.Err(); err != nil {
						return err
					}
					if err := h.settleDatabase(ctx); err != nil {
						return err
					}
				}
			}
		}
		for _, fresh := range h.freshURLs {
			if err := h.restartOn(ctx, fresh); err != nil {
				return err
			}
			if err := h.settleDatabase(ctx); err != nil {
				return err
			}
			inv, err := h.checkInvariant(ctx)
			if err != nil {
				return err
			}
			p.BaselineInvariants = append(p.BaselineInvariants, inv)
		}
		if err := h.restartOn(ctx, h.grownURL); err != nil {
			return err
		}
		res.Prefill = p
	}
	if len(res.Ingest) > 0 && (h.cfg.has(scFloor) || h.cfg.has(scAuth) || h.cfg.has(scGraphQL)) {
		// Each open-loop scenario starts from a settled database, as the
		// growth run does after its prefill: the ingestion before it leaves
		// settlements, vacuums and a checkpoint due, which otherwise ran
		// inside the authorize measurement (authorize p99 ÷ floor 4.83× and
		// 3.30× in two make bench runs, 1.0–2.6× for the same scenario alone).
		h.progress("letting the database settle after ingestion: settlement, vacuum, checkpoint")
		if err := h.settleDatabase(ctx); err != nil {
			return err
		}
	}
	if h.cfg.has(scFloor) || h.cfg.has(scAuth) {
		what := "auth: /v1/authorize"
		switch {
		case h.cfg.has(scFloor) && h.cfg.has(scAuth):
			what = fmt.Sprintf("floor and auth, side by side in slices of %s: a do-nothing net/http server and /v1/authorize", loadSlice)
		case h.cfg.has(scFloor):
			what = "floor: a do-nothing net/http server"
		}
		h.progress("%s, %d rps offered, %s each", what, h.cfg.AuthorizeRPS, h.cfg.Duration)
		f, a, err := h.authorizeAndFloor(ctx)
		if err != nil {
			return err
		}
		res.Floor, res.Authorize = f, a
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if h.cfg.has(scGraphQL) {
		h.progress("graphql: balance query at %d rps offered, %s", h.cfg.BalanceRPS, h.cfg.Duration)
		b := h.balance(ctx)
		res.Balance = &b
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if !h.serverRunning() {
		return fmt.Errorf("the server exited during the run: %s\n%s", h.server.ProcessState, h.logTail())
	}
	var err error
	if res.PeakRSSKiB, err = h.peakRSSKiB(); err != nil {
		return fmt.Errorf("peak RSS: %w", err)
	}
	res.PeakRSSKiB = max(res.PeakRSSKiB, h.rssKiB)
	var lines []string
	for _, l := range h.logLines() {
		if !strings.Contains(l, "SANDBOX PAYMENT PROVIDER") { // expected: no Stripe key, on purpose
			lines = append(lines, l)
		}
	}
	res.ServerLogLines = len(lines)
	res.ServerLog = lines[:min(len(lines), 5)]
	if s, err := h.storage(ctx); err == nil {
		res.Storage = &s
	} else {
		return err
	}
	h.progress("waiting for deferred usage to settle")
	if err := h.waitSettled(ctx); err != nil {
		return err
	}
	h.progress("checking the ledger of every workspace")
	inv, err := h.checkInvariant(ctx)
	if err != nil {
		return err
	}
	res.Invariant = &inv
	if res.Prefill != nil && h.cfg.has(scLimit) && h.cfg.has(scIngestMany) {
		h.progress("growth control: the ideal transaction in pgbench on a fresh database and on the grown one, over the service's workspaces")
		c, err := h.growthControl(ctx)
		switch {
		case errors.Is(err, errNoPgbench):
		case err != nil:
			return fmt.Errorf("growth control: %w", err)
		default:
			res.Prefill.Control = &c
		}
	}
	return nil
}

// ingestLoad is an ingestion scenario and the workspaces it spreads over.
type ingestLoad struct {
	name       string
	workspaces []string
}

// ingestion is the selected ingestion scenarios, in the order they run.
func (h *harness) ingestion() []ingestLoad {
	var all []ingestLoad
	for _, sc := range []ingestLoad{{scIngest1, h.hot}, {scIngest100, h.hundred}, {scIngestMany, h.many}} {
		if h.cfg.has(sc.name) {
			all = append(all, sc)
		}
	}
	return all
}

// ingestPass is one pass of an ingestion scenario, its event ids
// prefixed so that no two passes on one database share one.
func (h *harness) ingestPass(ctx context.Context, idPrefix string, sc ingestLoad) IngestResult {
	h.progress("%s%s: usage ingestion over %d workspace(s), %d clients, %s", idPrefix, sc.name, len(sc.workspaces), h.cfg.Clients, h.cfg.Duration)
	in := h.ingest(ctx, idPrefix+sc.name, sc.workspaces)
	in.Scenario = sc.name
	return in
}

// growthRounds is the rounds a run with cfg measures, 0 without a prefill.
func growthRounds(cfg Config) int {
	if cfg.Prefill <= 0 {
		return 0
	}
	return cfg.GrowthRounds
}

// measureLimit runs the limit scenario into res (in -short, a missing
// pgbench is noted, not fatal).
func (h *harness) measureLimit(ctx context.Context, res *Results) error {
	h.progress("limit: the ideal usage transaction in pgbench, 1 and %d workspaces, %s each", h.cfg.ManyWorkspaces, h.cfg.Duration)
	lim, err := h.limit(ctx)
	switch {
	case errors.Is(err, errNoPgbench) && h.cfg.Short:
		res.PgbenchSkipped = err.Error()
	case err != nil:
		return fmt.Errorf("limit: %w", err)
	default:
		res.Limit = &lim
	}
	return nil
}

// postgresSettings are the server's version and its shared_buffers, the
// setting the growth figures depend on most (docs/scaling.md).
func (h *harness) postgresSettings(ctx context.Context) (version, sharedBuffers string) {
	db, err := sql.Open("postgres", h.adminURL)
	if err != nil {
		return "", ""
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT current_setting('server_version'), current_setting('shared_buffers')").Scan(&version, &sharedBuffers); err != nil {
		return "", ""
	}
	return version, sharedBuffers
}

// progress tells the operator what the run is doing (on Config.Progress).
func (h *harness) progress(format string, args ...any) {
	if h.cfg.Progress != nil {
		fmt.Fprintf(h.cfg.Progress, "bench %5.1fs: "+format+"\n", append([]any{time.Since(h.began).Seconds()}, args...)...)
	}
}

// loadSliceOf is the slice the floor and authorize alternate in, when the
// run measures both.
func loadSliceOf(cfg Config) string {
	if cfg.has(scFloor) && cfg.has(scAuth) {
		return loadSlice.String()
	}
	return ""
}

func settingsOf(cfg Config) Settings {
	return Settings{Duration: cfg.Duration.String(), Warmup: cfg.Warmup.String(), Clients: cfg.Clients, Batch: cfg.Batch, AuthorizeRPS: cfg.AuthorizeRPS,
		BalanceRPS: cfg.BalanceRPS, ManyWorkspaces: cfg.ManyWorkspaces, PgbenchScale: cfg.PgbenchScale, Scenarios: cfg.Scenarios, ServerEnv: cfg.ServerEnv,
		Prefill: cfg.Prefill, GrowthRounds: growthRounds(cfg), LoadSlice: loadSliceOf(cfg), Short: cfg.Short, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
}
