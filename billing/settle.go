package billing

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgarray"
)

// Deferred settlement. A usage transaction over a few workspaces moves
// their balances itself. One spread over many (a router's report mixes its
// customers' calls) would write a ledger entry, a balance update and a
// rollup per workspace for a handful of events each: about one balance
// write per event, which caps ingestion at a fraction of what the disk
// takes (docs/performance.md). Such a transaction instead records its
// events (deduplicated, trace-priced and hold-settled as always, under its
// week locks but not its workspaces' row locks, which a settlement holds by
// the thousand) and one accrual row carrying its per-workspace
// sums; the settler merges the accruals of many transactions and moves
// each workspace's balance once per settlement, with its ledger entries
// and rollups, in one transaction that also deletes the accruals it
// applied. So nothing is applied twice or lost (an accrual is applied
// exactly when it is deleted), the ledger still equals the balance, and
// the usage view still agrees with the ledger; what changes is when:
// deferred usage reaches the balance, the gate and auto top-up at the next
// settlement, at most the settle interval later (plus the settlement's own
// time). DefaultUsageDeferWorkspaces is where spreading starts to cost.

// DefaultUsageDeferWorkspaces: a usage transaction whose events belong to
// more workspaces than this is settled by the settler (Config).
const DefaultUsageDeferWorkspaces = 64

// maxSettleBatches bounds one settlement transaction (each batch holds at
// most maxGroupEvents events).
const maxSettleBatches = 200

// addAccrualSQL is recordEventsSQL's tail for a deferred batch: one row
// with the per-workspace sums ($14–$16 in the order of the workspaces $1)
// and the rollups ($17–$25, workspaces by number).
const addAccrualSQL = `INSERT INTO usage_accruals (batch, created_at, events, workspaces, usage, tracing, released,
		rollup_workspace_n, rollup_days, rollup_models, rollup_requests, rollup_input_tokens, rollup_output_tokens,
		rollup_cached_input_tokens, rollup_traces, rollup_cost)
	VALUES ($12, $26, $13, $1::uuid[], $14::bigint[], $15::bigint[], $16::bigint[], $17::int[], $18::date[], $19::text[],
		$20::bigint[], $21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[])`

// accrue is recordEvents' effects for a deferred batch: its accrual row.
func accrue(wsx workspaceIndex, locked map[uuid.UUID]*lockedWorkspace, now time.Time) effects {
	return func(events []pricedEvent) (string, []any, error) {
		r, err := rollUps(events)
		if err != nil {
			return "", nil, err
		}
		n := len(wsx.ids)
		usage, tracing, released := make([]int64, n), make([]int64, n), make([]int64, n)
		for i, id := range wsx.ids {
			if lw, ok := locked[id]; ok {
				usage[i], tracing[i], released[i] = int64(lw.usage), int64(lw.tracing), int64(lw.released)
			}
		}
		wn := make([]int32, len(r.ws))
		for i, id := range r.ws {
			wn[i] = wsx.of(id)
		}
		args := append([]any{len(events), pgarray.Int64s(usage), pgarray.Int64s(tracing), pgarray.Int64s(released), pq.Array(wn)},
			r.columns()...)
		return addAccrualSQL, append(args, now), nil
	}
}

// claimAccrualsSQL locks up to $1 accruals, oldest first, skipping those
// another settler holds (with $2, only those batches).
const claimAccrualsSQL = `SELECT batch, created_at, events FROM usage_accruals
	WHERE $2::uuid[] IS NULL OR batch = ANY($2::uuid[])
	ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`

// sumAccrualsSQL sums the accruals $1 per workspace (numeric sums: an
// overflow is seen, not wrapped), with whether any amount is negative.
const sumAccrualsSQL = `SELECT x.ws, sum(x.u)::text, sum(x.t)::text, sum(x.r)::text, bool_or(x.u < 0 OR x.t < 0 OR x.r < 0)
	FROM usage_accruals a, unnest(a.workspaces, a.usage, a.tracing, a.released) AS x(ws, u, t, r)
	WHERE a.batch = ANY($1::uuid[])
	GROUP BY x.ws HAVING bool_or(x.u <> 0 OR x.t <> 0 OR x.r <> 0)`

// applyAccrualsSQL deletes the accruals $1, adds their rollups to
// usage_rollups (merged per workspace, day and model) and returns how many
// it deleted. It runs after the workspaces are locked, as every writer of
// rollups does. Rollups name their workspace by number; a join, not a
// subscript (c.workspaces[n]), reads the workspace: a subscript of a
// stored array reads the whole array again for every element (statement
// log, 10,000 workspaces a settlement: 210 ms with the subscript, 115 with
// the join, most of it the upserts).
const applyAccrualsSQL = `WITH claimed AS (
		DELETE FROM usage_accruals WHERE batch = ANY($1::uuid[]) RETURNING *
	), rollups AS (
		INSERT INTO usage_rollups (workspace_id, day, model, requests, input_tokens, output_tokens, cached_input_tokens, traces, cost)
		SELECT w.id, x.day, x.model, sum(x.rq)::bigint, sum(x.i)::bigint, sum(x.o)::bigint, sum(x.ca)::bigint,
			sum(x.tr)::bigint, sum(x.co)::bigint
		FROM claimed c
		CROSS JOIN LATERAL unnest(c.rollup_workspace_n, c.rollup_days, c.rollup_models, c.rollup_requests, c.rollup_input_tokens,
			c.rollup_output_tokens, c.rollup_cached_input_tokens, c.rollup_traces, c.rollup_cost) AS x(n, day, model, rq, i, o, ca, tr, co)
		JOIN LATERAL unnest(c.workspaces) WITH ORDINALITY AS w(id, n) ON w.n = x.n
		GROUP BY 1, 2, 3
		ON CONFLICT (workspace_id, day, model) DO UPDATE SET requests = usage_rollups.requests + EXCLUDED.requests,
			input_tokens = usage_rollups.input_tokens + EXCLUDED.input_tokens, output_tokens = usage_rollups.output_tokens + EXCLUDED.output_tokens,
			cached_input_tokens = usage_rollups.cached_input_tokens + EXCLUDED.cached_input_tokens,
			traces = usage_rollups.traces + EXCLUDED.traces, cost = usage_rollups.cost + EXCLUDED.cost
	)
	SELECT count(*) FROM claimed`

// settlement is what one settlement transaction applies: the claimed
// accruals' sums per workspace.
type settlement struct {
	batches []string
	events  int64
	oldest  time.Time
	sums    map[uuid.UUID]wsSums
}

type wsSums struct{ usage, tracing, released money.Amount }

// workspaces are the settlement's workspaces, in id order.
func (st *settlement) workspaces() []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(st.sums))
	for id := range st.sums {
		ids = append(ids, id)
	}
	return ledger.LockOrder(ids)
}

// changes are the ledger changes of the settlement to the workspaces ids
// (st.workspaces()), under reference ref.
func (st *settlement) changes(ids []uuid.UUID, ref string) []ledger.Change {
	desc := fmt.Sprintf("usage settled: %d events of %d batches", st.events, len(st.batches))
	var out []ledger.Change
	for _, id := range ids {
		v := st.sums[id]
		out = appendUsageChanges(out, id, v.usage, v.tracing, v.released, ref, desc)
	}
	return out
}

// claim locks the accruals to settle and sums them per workspace.
func (st *settlement) claim(ctx context.Context, tx *ledger.Tx, only any) error {
	rows, err := tx.QueryContext(ctx, claimAccrualsSQL, maxSettleBatches, only)
	if err != nil {
		return fmt.Errorf("claim accruals: %w", err)
	}
	for rows.Next() {
		var batch string
		var at time.Time
		var events int64
		if err := rows.Scan(&batch, &at, &events); err != nil {
			rows.Close()
			return fmt.Errorf("claim accruals: %w", err)
		}
		st.batches = append(st.batches, batch)
		st.events += events
		if st.oldest.IsZero() || at.Before(st.oldest) {
			st.oldest = at
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(st.batches) == 0 {
		return err
	}
	rows, err = tx.QueryContext(ctx, sumAccrualsSQL, pq.Array(st.batches))
	if err != nil {
		return fmt.Errorf("sum accruals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var usage, tracing, released string
		var negative bool
		if err := rows.Scan(&id, &usage, &tracing, &released, &negative); err != nil {
			return fmt.Errorf("sum accruals: %w", err)
		}
		if negative {
			return fmt.Errorf("accruals %s, workspace %s: negative usage, tracing or release (usage never credits)", strings.Join(st.batches, ","), id)
		}
		var v wsSums
		for _, f := range []struct {
			text string
			to   *money.Amount
		}{{usage, &v.usage}, {tracing, &v.tracing}, {released, &v.released}} {
			n, err := strconv.ParseInt(f.text, 10, 64)
			if err != nil {
				return fmt.Errorf("accruals %s, workspace %s: %w", strings.Join(st.batches, ","), id, money.ErrOverflow)
			}
			*f.to = money.Amount(n)
		}
		st.sums[id] = v
	}
	return rows.Err()
}

// SettleUsage applies every deferred usage accrual committed so far (those
// another settler is applying meanwhile excepted) and returns how many it
// applied. An accrual that cannot be applied (its sums would overflow a
// balance) is left for an operator and reported in the error; the others
// are applied.
func (s *Service) SettleUsage(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.settleAccruals(ctx, nil)
		total += n
		if err != nil {
			m, err := s.settleOneByOne(ctx)
			return total + m, err
		}
		if n < maxSettleBatches {
			return total, nil
		}
	}
}

// settleOneByOne settles the pending accruals one per transaction, after a
// settlement of many failed, so that one that cannot be applied does not
// hold back the rest.
func (s *Service) settleOneByOne(ctx context.Context) (int, error) {
	var pending []uuid.UUID
	rows, err := s.ledger.DB().QueryContext(ctx, `SELECT batch FROM usage_accruals ORDER BY created_at LIMIT $1`, maxSettleBatches)
	if err != nil {
		return 0, fmt.Errorf("settle usage: %w", err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("settle usage: %w", err)
		}
		pending = append(pending, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("settle usage: %w", err)
	}
	settled := 0
	var failed []string
	for _, id := range pending {
		n, err := s.settleAccruals(ctx, []uuid.UUID{id})
		settled += n
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", id, err))
		}
	}
	if len(failed) > 0 {
		return settled, fmt.Errorf("settle usage: %d accruals left unsettled: %s", len(failed), strings.Join(failed, "; "))
	}
	return settled, nil
}

// settleAccruals claims up to maxSettleBatches accruals (only the batches
// given, when any) and applies them in one transaction.
func (s *Service) settleAccruals(ctx context.Context, batches []uuid.UUID) (int, error) {
	var only any
	if batches != nil {
		ids := make([]string, len(batches))
		for i, id := range batches {
			ids[i] = id.String()
		}
		only = pq.Array(ids)
	}
	var st settlement
	err := s.inTx(ctx, func(tx *ledger.Tx) error {
		st = settlement{sums: map[uuid.UUID]wsSums{}}
		if err := st.claim(ctx, tx, only); err != nil || len(st.batches) == 0 {
			return err
		}
		ids := st.workspaces()
		if _, err := ledger.Lock(ctx, tx, ids); err != nil {
			return err
		}
		var deleted int
		if err := tx.QueryRow(ctx, applyAccrualsSQL, []any{pq.Array(st.batches)}, &deleted); err != nil {
			return fmt.Errorf("apply accruals: %w", err)
		}
		if deleted != len(st.batches) {
			return fmt.Errorf("apply accruals: deleted %d of the %d claimed", deleted, len(st.batches))
		}
		_, _, err := ledger.Apply(ctx, tx, s.now(), st.changes(ids, uuid.NewString()))
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(st.batches) > 0 {
		s.settled.Add(int64(len(st.batches)))
		s.settleLag.Store(int64(s.now().Sub(st.oldest)))
	}
	return len(st.batches), nil
}

// RunSettlement settles deferred usage every interval until ctx ends, and
// once more then, so a graceful shutdown leaves nothing for the next start
// (which settles what a crash left, at its first tick).
func (s *Service) RunSettlement(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	run := func() {
		// Not tied to ctx: a settlement is short, and cut off halfway it
		// would only be rolled back.
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.SettleUsage(c); err != nil {
			s.log.Error("settle usage", "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			run()
			return
		case <-t.C:
			run()
		}
	}
}

// UsageSettled is how many deferred usage batches this process settled;
// UsageSettleLag how long the oldest of the last settlement waited for it.
func (s *Service) UsageSettled() int64 { return s.settled.Load() }

// UsageSettleLag: see UsageSettled.
func (s *Service) UsageSettleLag() time.Duration { return time.Duration(s.settleLag.Load()) }

// usageWorkspaces returns the plan of each of the ids that names a
// workspace: row-locked (ledger.Lock) for an inline batch, read (or
// remembered) for a deferred one.
func (s *Service) usageWorkspaces(ctx context.Context, tx *ledger.Tx, ids []uuid.UUID, deferred bool) (map[uuid.UUID]string, error) {
	plans := make(map[uuid.UUID]string, len(ids))
	if !deferred {
		accounts, err := ledger.Lock(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		for id, a := range accounts {
			plans[id] = a.PlanID
		}
		return plans, nil
	}
	missing := s.workspacePlans.get(ids, plans)
	if len(missing) == 0 {
		return plans, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, plan_id FROM workspaces WHERE id = ANY($1::uuid[])`, pgarray.UUIDs(missing))
	if err != nil {
		return nil, fmt.Errorf("read workspaces: %w", err)
	}
	defer rows.Close()
	found := map[uuid.UUID]string{}
	for rows.Next() {
		var id uuid.UUID
		var plan string
		if err := rows.Scan(&id, &plan); err != nil {
			return nil, fmt.Errorf("read workspaces: %w", err)
		}
		plans[id], found[id] = plan, plan
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.workspacePlans.put(found)
	return plans, nil
}

// workspacePlans remembers the plan of each workspace a deferred usage
// transaction read: a workspace is never deleted and its plan is fixed at
// creation (nothing changes plan_id), so an entry is never stale; an id
// that named no workspace is not remembered (it may be created later).
// Whatever changes a workspace's plan one day must forget it here.
type workspacePlans struct {
	mu    sync.Mutex
	plans map[uuid.UUID]string
}

// maxRememberedPlans bounds workspacePlans (about 100 bytes an entry); when
// full it starts again.
const maxRememberedPlans = 200_000

// get puts the plans it knows of ids into into and returns the others.
func (w *workspacePlans) get(ids []uuid.UUID, into map[uuid.UUID]string) (missing []uuid.UUID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		if p, ok := w.plans[id]; ok {
			into[id] = p
		} else {
			missing = append(missing, id)
		}
	}
	return missing
}

func (w *workspacePlans) put(found map[uuid.UUID]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.plans == nil || len(w.plans)+len(found) > maxRememberedPlans {
		w.plans = make(map[uuid.UUID]string, len(found))
	}
	for id, p := range found {
		w.plans[id] = p
	}
}
