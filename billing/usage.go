package billing

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/partitions/week"
	"github.com/airouter/credits/pgarray"
)

// UsageEvent is one finished router call as the router reports it.
// InputTokens excludes cached input tokens (CachedInputTokens).
type UsageEvent struct {
	ID                string
	WorkspaceID       string
	Model             string
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	Traces            int64
	OccurredAt        time.Time
	// RequestID or HoldID name the hold placed at authorize time, which
	// this event settles (both optional).
	RequestID string
	HoldID    string
	// DecodeError is set by a decoder that could not read the event; the
	// event is rejected with it, in its place in the batch.
	DecodeError string
}

// Rejection is one event of a batch that was not charged, and why.
type Rejection struct {
	ID    string `json:"id"`
	Error string `json:"error"`
	index int    // position in the batch, to report in the order sent
}

// IngestResult counts what happened to a batch. Accepted events are charged;
// duplicates were charged before (or earlier in the same batch) and change
// nothing; rejected ones are invalid and change nothing.
type IngestResult struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
}

// maxEventIDLen bounds event ids; they are stored and indexed.
const maxEventIDLen = 200

// pricedEvent is a valid event with its token cost; traceCost is set inside
// the transaction, where the month's trace count is known.
type pricedEvent struct {
	UsageEvent
	index     int
	workspace uuid.UUID
	cost      money.Amount
	traceCost money.Amount
}

// IngestUsage charges a batch of usage events: each valid, new event is
// priced with the price in force at its OccurredAt, traces beyond the plan
// are charged at the plan's price, and each workspace's balance moves once
// for the batch with one ledger entry per kind (or, when the batch's group
// transaction spans more than Config.UsageDeferWorkspaces workspaces, once
// for all such batches at the next settlement: billing/settle.go). The
// whole batch commits or none of it does; when IngestUsage returns nil
// every accepted event is durably recorded and will be charged exactly
// once. Re-sending an event is a duplicate, never a charge.
func (s *Service) IngestUsage(ctx context.Context, events []UsageEvent) (IngestResult, error) {
	res := IngestResult{Rejected: []Rejection{}}
	if len(events) > s.cfg.MaxBatch {
		return res, badInput("events", "batch has %d events; at most %d are allowed", len(events), s.cfg.MaxBatch)
	}
	now := s.now().UTC()
	valid := make([]pricedEvent, 0, len(events))
	seen := make(map[[2]string]bool, len(events))
	for i, ev := range events {
		pe, err := s.priceEvent(ev, now)
		pe.index = i
		if err != nil {
			res.Rejected = append(res.Rejected, Rejection{ID: ev.ID, Error: err.Error(), index: i})
			continue
		}
		key := [2]string{pe.workspace.String(), ev.ID}
		if seen[key] {
			res.Duplicates++
			continue
		}
		seen[key] = true
		valid = append(valid, pe)
	}
	if len(valid) == 0 {
		return res, nil
	}
	outcomes, err := s.commit(ctx, valid)
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest %d usage events: %w", len(valid), err)
	}
	for i, o := range outcomes {
		switch o {
		case outcomeAccepted:
			res.Accepted++
		case outcomeDuplicate:
			res.Duplicates++
		case outcomeUnknownWorkspace:
			res.Rejected = append(res.Rejected, Rejection{ID: valid[i].ID, Error: "unknown workspace_id", index: valid[i].index})
		}
	}
	sort.SliceStable(res.Rejected, func(i, j int) bool { return res.Rejected[i].index < res.Rejected[j].index })
	return res, nil
}

// priceEvent validates one event and prices its tokens. Everything that
// could make Postgres refuse the event (NUL bytes, invalid UTF-8) or make
// its cost absurd is refused here, with the event alone, before it joins a
// group transaction with other reports.
func (s *Service) priceEvent(ev UsageEvent, now time.Time) (pricedEvent, error) {
	ev.RequestID, ev.HoldID = normalizeRequestID(ev.RequestID), strings.TrimSpace(ev.HoldID)
	// What Postgres stores (microseconds) is what every rule uses: the
	// price in force, the trace month and the rollup day.
	ev.OccurredAt = ev.OccurredAt.UTC().Truncate(time.Microsecond)
	pe := pricedEvent{UsageEvent: ev}
	if ev.DecodeError != "" {
		return pe, errors.New(ev.DecodeError)
	}
	for _, f := range []struct{ name, value string }{{"id", ev.ID}, {"workspace_id", ev.WorkspaceID}, {"model", ev.Model},
		{"request_id", ev.RequestID}, {"hold_id", ev.HoldID}} {
		if err := checkEventText(f.name, f.value); err != nil {
			return pe, err
		}
	}
	tokens := ev.InputTokens != 0 || ev.OutputTokens != 0 || ev.CachedInputTokens != 0
	switch {
	case ev.ID == "":
		return pe, fmt.Errorf("id is required")
	case ev.Model == "" && tokens:
		return pe, fmt.Errorf("model is required when tokens are reported")
	case ev.Model == "" && ev.Traces == 0:
		return pe, fmt.Errorf("the event reports neither tokens (with a model) nor traces")
	case ev.InputTokens < 0 || ev.OutputTokens < 0 || ev.CachedInputTokens < 0:
		return pe, fmt.Errorf("token counts must not be negative")
	case ev.InputTokens > MaxTokensPerEvent || ev.OutputTokens > MaxTokensPerEvent || ev.CachedInputTokens > MaxTokensPerEvent:
		return pe, fmt.Errorf("token counts must be at most %d", int64(MaxTokensPerEvent))
	case ev.Traces < 0:
		return pe, fmt.Errorf("traces must not be negative")
	case ev.Traces > MaxTracesPerEvent:
		return pe, fmt.Errorf("traces must be at most %d", int64(MaxTracesPerEvent))
	case ev.OccurredAt.IsZero():
		return pe, fmt.Errorf("occurred_at is required")
	case ev.OccurredAt.After(now.Add(5 * time.Minute)):
		return pe, fmt.Errorf("occurred_at is in the future")
	case ev.OccurredAt.Before(now.Add(-s.cfg.MaxEventAge)):
		return pe, fmt.Errorf("occurred_at is older than %d days", int(s.cfg.MaxEventAge.Hours()/24))
	}
	ws, err := uuid.Parse(ev.WorkspaceID)
	if err != nil {
		return pe, fmt.Errorf("workspace_id is not a valid id")
	}
	pe.workspace = ws
	if ev.Model == "" { // traces only: priced in the transaction, by the plan
		return pe, nil
	}
	price, ok := s.prices.PriceAt(ev.Model, ev.OccurredAt)
	if !ok {
		return pe, fmt.Errorf("unknown model %q (no price in force at %s)", ev.Model, ev.OccurredAt.Format(time.RFC3339Nano))
	}
	if pe.cost, err = price.Cost(Usage{ev.InputTokens, ev.OutputTokens, ev.CachedInputTokens}); err != nil {
		return pe, fmt.Errorf("cost out of range")
	}
	if pe.cost > s.cfg.MaxEventCost {
		return pe, fmt.Errorf("cost %s USD is above the per-event cap of %s USD", pe.cost, s.cfg.MaxEventCost)
	}
	return pe, nil
}

// checkEventText refuses what Postgres cannot store as text (invalid
// UTF-8, NUL) and other control characters, and bounds the length.
func checkEventText(field, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s must not contain control characters (U+%04X)", field, r)
		}
	}
	if len(v) > maxEventIDLen {
		return fmt.Errorf("%s is longer than %d bytes", field, maxEventIDLen)
	}
	return nil
}

// lockedWorkspace is a workspace locked by a usage transaction, with its
// plan's trace terms and what the batch charges it.
type lockedWorkspace struct {
	includedTraces int64
	extraPrice     money.Amount
	usage, tracing money.Amount
	released       money.Amount // held by the holds this batch settles
}

// outcome is what a batch did with one event.
type outcome uint8

const (
	outcomeAccepted outcome = iota
	outcomeDuplicate
	outcomeUnknownWorkspace
)

// chargeBatch writes events in tx with a fixed number of statements whatever
// the batch size: take the week locks (lockWeeks), lock the workspaces (the
// ledger locks in id order, so concurrent batches cannot deadlock; a
// deferred batch only reads them), drop events already recorded (looked
// up as d says: safe to check before inserting because every writer of a
// week's events holds its week lock against the lookup) or repeated
// within the batch, count traces, settle holds, insert events, and either
// roll up and hand the ledger one usage and one tracing change per
// workspace, or (over more than UsageDeferWorkspaces workspaces) write one
// accrual for the settler (billing/settle.go). outcomes[i] says what
// became of events[i]. A *redo error means the insert refused an event the
// lookup did not find: the caller rolls back and calls again with its d.
func (s *Service) chargeBatch(ctx context.Context, tx *ledger.Tx, events []pricedEvent, now time.Time, d dedupe) (outcomes []outcome, err error) {
	outcomes = make([]outcome, len(events))
	wsIDs := uniqueWorkspaces(events)
	deferred := s.defers(len(wsIDs))
	filter := s.weekFilter.Load()
	late, err := lockWeeks(ctx, tx, weekLocksFor(events, now, d), wsIDs, filter)
	if err != nil {
		return nil, err
	}
	plans, err := s.usageWorkspaces(ctx, tx, wsIDs, deferred)
	if err != nil {
		return nil, err
	}
	locked := make(map[uuid.UUID]*lockedWorkspace, len(plans))
	for id, plan := range plans {
		p, err := s.plans.get(ctx, tx.Client(), plan)
		if err != nil {
			return nil, err
		}
		locked[id] = &lockedWorkspace{includedTraces: p.IncludedTraces, extraPrice: money.Amount(p.ExtraTracePrice)}
	}
	known := make([]int, 0, len(events)) // indexes into events
	for i, ev := range events {
		if _, ok := locked[ev.workspace]; !ok {
			outcomes[i] = outcomeUnknownWorkspace
			continue
		}
		known = append(known, i)
	}
	wsx := indexWorkspaces(wsIDs)
	// A first attempt looks up the neighbouring weeks in the statement
	// that records the events (recordEventsLookingUpSQL): duplicates
	// there are rare, and one statement fewer is a round trip and a parse
	// of the batch's workspaces fewer under the week locks (17 % of
	// ingestion at 10,000 workspaces, docs/performance.md). A later
	// attempt looks them up first.
	var look lookups
	recorded := d.known // read only
	if d.wholeWindow {
		if recorded, err = findRecorded(ctx, tx, wsx, events, known, now, d); err != nil {
			return nil, err
		}
	} else {
		look = lookUp(wsx, events, known, now, d, s.trustedFilter(filter, late))
		s.lookupsFiltered.Add(int64(look.filtered))
	}
	fresh := make([]pricedEvent, 0, len(known))
	seen := make(map[eventKey]bool, len(known))
	for _, i := range known {
		k := eventKey{events[i].workspace, events[i].ID}
		if recorded[k] || seen[k] {
			outcomes[i] = outcomeDuplicate
			continue
		}
		seen[k] = true
		fresh = append(fresh, events[i])
	}
	if len(fresh) == 0 {
		return outcomes, nil
	}
	if err := chargeTraces(ctx, tx, fresh, locked); err != nil {
		return nil, err
	}
	// From here on in (workspace, event id) order, the same for every
	// transaction: two settling the same holds or recording the same ids
	// at once (a report retried while the first is in flight) wait for
	// each other in one direction, never crosswise (a deadlock). Traces
	// are priced in batch order, before.
	fresh = inKeyOrder(fresh)
	if err := releaseHolds(ctx, tx, fresh, locked); err != nil {
		return nil, err
	}
	for _, ev := range fresh {
		lw := locked[ev.workspace]
		if lw.usage, err = money.Add(lw.usage, ev.cost); err != nil {
			return nil, fmt.Errorf("usage of workspace %s: %w", ev.workspace, err)
		}
		if lw.tracing, err = money.Add(lw.tracing, ev.traceCost); err != nil {
			return nil, fmt.Errorf("tracing of workspace %s: %w", ev.workspace, err)
		}
	}
	batch := uuid.New()
	if deferred {
		// Spread over many workspaces: the settler moves the balances (see
		// billing/settle.go).
		if err := recordEvents(ctx, tx, wsx, fresh, batch, d, look, accrue(wsx, locked, now)); err != nil {
			return nil, err
		}
		return outcomes, nil
	}
	if err := recordEvents(ctx, tx, wsx, fresh, batch, d, look, addRollups); err != nil {
		return nil, err
	}
	changes := usageChanges(wsIDs, locked, batch.String(), len(fresh))
	if _, _, err := ledger.Apply(ctx, tx, now, changes); err != nil {
		return nil, err
	}
	return outcomes, nil
}

// usageChanges is what a batch does to each workspace's balance: one usage
// and one tracing deduction (each only when non-zero), and the release of
// the holds it settled.
func usageChanges(wsIDs []uuid.UUID, locked map[uuid.UUID]*lockedWorkspace, batch string, events int) []ledger.Change {
	desc := fmt.Sprintf("usage batch of %d events", events)
	var changes []ledger.Change
	for _, id := range wsIDs {
		if lw, ok := locked[id]; ok {
			changes = appendUsageChanges(changes, id, lw.usage, lw.tracing, lw.released, batch, desc)
		}
	}
	return changes
}

// appendUsageChanges appends what usage does to one workspace's balance:
// a usage and a tracing deduction under reference ref (each only when
// non-zero), and the release of the holds it settled.
func appendUsageChanges(changes []ledger.Change, id uuid.UUID, usage, tracing, released money.Amount, ref, desc string) []ledger.Change {
	if usage != 0 {
		changes = append(changes, ledger.Change{WorkspaceID: id, Kind: KindUsage, Amount: -usage, Reference: ref, Description: desc, FreshReference: true})
	}
	if tracing != 0 {
		changes = append(changes, ledger.Change{WorkspaceID: id, Kind: KindTracing, Amount: -tracing, Reference: ref, Description: desc, FreshReference: true})
	}
	if released != 0 {
		changes = append(changes, ledger.Change{WorkspaceID: id, Held: -released})
	}
	return changes
}

// inKeyOrder returns events sorted by (workspace, event id), sorting
// their indexes and copying each event once: 176 µs for 1,000 events,
// against 408 µs to sort the events themselves (each swap moves two).
func inKeyOrder(events []pricedEvent) []pricedEvent {
	idx := make([]int32, len(events))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int {
		a, b := &events[i], &events[j]
		if c := bytes.Compare(a.workspace[:], b.workspace[:]); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	sorted := make([]pricedEvent, len(events))
	for i, j := range idx {
		sorted[i] = events[j]
	}
	return sorted
}

type eventKey struct {
	ws uuid.UUID
	id string
}

func uniqueWorkspaces(events []pricedEvent) []uuid.UUID {
	ids := make([]uuid.UUID, len(events))
	for i, ev := range events {
		ids[i] = ev.workspace
	}
	return ledger.LockOrder(ids)
}

// dedupeWindow: an event id its workspace recorded with an occurred_at at
// most this far from a new event's is a duplicate, whatever the times say
// (a router that re-stamps a retried event). Each weekly partition of
// usage_events is keyed by (workspace_id, event_id), so the insert itself
// refuses an id its week already holds (two times of one week are less
// than 7 days apart); the neighbouring weeks are looked up, under their
// week locks (billing/weeklocks.go), which every writer of events takes.
// docs/scaling.md has the rule and its cost.
const dedupeWindow = 7 * 24 * time.Hour

// recordedHorizon bounds how far after now a recorded event can have
// occurred: the service accepts events up to 5 minutes ahead of its
// clock, and this allows for instances whose clocks disagree by up to
// 55 minutes more. A live event's next week is beyond it, so it is not
// looked up.
const recordedHorizon = time.Hour

// dedupe is how a usage transaction finds the events recorded already.
// The first attempt looks up only the neighbouring weeks and lets the
// insert refuse an id its own week holds (a unique violation: the attempt
// is rolled back and made again). Later attempts look up the whole window
// and learn the ids the insert still refused: those recorded in the
// default partition, where an id is unique whatever the times.
type dedupe struct {
	wholeWindow bool
	known       map[eventKey]bool // refused by an earlier attempt's insert
}

// redo says a usage transaction must be made again (rolled back first),
// with what its attempt learned.
type redo struct{ next dedupe }

func (r *redo) Error() string {
	return fmt.Sprintf("usage transaction must be redone (%d event ids already recorded)", len(r.next.known))
}

// maxUsageAttempts bounds the attempts of one usage transaction: the
// first, one with the whole window, one more with the ids that attempt's
// insert refused (the default partition's), and spares.
const maxUsageAttempts = 5

// findRecordedSQL returns which of the events ($2 indexes into the
// workspace ids $1, $3 event ids) are recorded already with an occurred_at
// in [$4, $5] (one row per event and range; an event may have two),
// probing the key of each partition the range reaches once per event. A
// plain join would be planned once per connection (it is prepared) and
// kept: if that was while usage_events was small, the cached plan is a
// hash join over a sequential scan, and each usage transaction then reads
// the whole growing table until autovacuum's next ANALYZE replans it
// (seen: 2.9 ms of a 3.2 ms transaction at 30,000 events). LATERAL with
// LIMIT 1 leaves the planner nothing to choose but the per-event probe.
// $6 and $7 bound every range, so that the plan holds only the partitions
// the batch can touch (for a batch of live events: last week's). Times are
// microseconds since the Unix epoch and workspaces are given once: Postgres
// parses a bigint or an int several times faster than a timestamptz or a
// uuid, and a batch has a thousand of them; event ids come as a textList.
var findRecordedSQL = lookupSQL(2)

// lookupSQL is findRecordedSQL with its arguments after the workspaces
// numbered from $p on (the workspaces stay $1), for the statement that
// also records the events (recordEventsLookingUpSQL).
func lookupSQL(p int) string {
	return fmt.Sprintf(`SELECT k.wi, k.event_id FROM unnest($%d::int[], `+textListSQL(p+1)+`, $%d::bigint[], $%d::bigint[]) AS k(wi, event_id, lo, hi)
	CROSS JOIN LATERAL (SELECT FROM usage_events e WHERE e.workspace_id = ($1::uuid[])[k.wi] AND e.event_id = k.event_id
		AND e.occurred_at >= 'epoch'::timestamptz + k.lo * interval '1 microsecond'
		AND e.occurred_at <= 'epoch'::timestamptz + k.hi * interval '1 microsecond'
		AND e.occurred_at >= $%d AND e.occurred_at <= $%d LIMIT 1) AS found`, p, p+2, p+3, p+4, p+5)
}

// textList is a batch's event ids (or models) as one text argument, which
// textListSQL splits back into a text[] in SQL: Postgres
// splits one string about three times faster than it parses a text[]
// literal of a thousand quoted elements, and Go joins it for a tenth of
// what pq.Array's quoting costs (1,000 ids: 0.35 against 1.09 ms a query,
// docs/performance.md). The separator, U+001F, is a control character,
// which checkEventText refuses in every event text. Each element follows
// one separator and the first (empty) element is cut off, so that a list
// of one empty model is not split into no element at all.
func textList(vals []string) string {
	return textListSep + strings.Join(vals, textListSep)
}

const textListSep = "\x1f"

// textListSQL is the textList argument $p as a text[].
func textListSQL(p int) string {
	return fmt.Sprintf(`(string_to_array($%d, E'\x1f'))[2:]`, p)
}

// workspaceIndex numbers a batch's workspaces from 1 (SQL arrays' first
// index): the usage statements send the ids once ($1) and each row its
// number, and findRecorded and recordEvents read numbers back.
type workspaceIndex struct {
	ids     []uuid.UUID
	literal string // ids as sent, a uuid[] literal written once for both statements
	n       map[uuid.UUID]int32
}

func indexWorkspaces(ids []uuid.UUID) workspaceIndex {
	w := workspaceIndex{ids: ids, literal: pgarray.UUIDs(ids), n: make(map[uuid.UUID]int32, len(ids))}
	for i, id := range ids {
		w.n[id] = int32(i + 1)
	}
	return w
}

// of is ws's number; ws is one of the batch's workspaces.
func (w workspaceIndex) of(ws uuid.UUID) int32 { return w.n[ws] }

// at is the workspace numbered n, as a statement returned it.
func (w workspaceIndex) at(n int32) (uuid.UUID, error) {
	if n < 1 || int(n) > len(w.ids) {
		return uuid.Nil, fmt.Errorf("workspace number %d of %d", n, len(w.ids))
	}
	return w.ids[n-1], nil
}

// lookupRanges are the spans of occurred_at where a recorded copy of an
// event at t makes it a duplicate and the insert would not see it: the
// whole window [t − 7 days, t + 7 days], or, when the insert refuses ids
// of t's own week, the window's parts in the weeks before and after it.
// Neither goes beyond now + recordedHorizon.
func lookupRanges(t, now time.Time, wholeWindow bool) [][2]time.Time {
	lo, hi := t.Add(-dedupeWindow), t.Add(dedupeWindow)
	if horizon := now.Add(recordedHorizon); hi.After(horizon) {
		hi = horizon
	}
	if wholeWindow {
		return [][2]time.Time{{lo, hi}}
	}
	start := week.Start(t)
	ranges := [][2]time.Time{{lo, start.Add(-time.Microsecond)}}
	if next := start.Add(week.Length); !hi.Before(next) {
		ranges = append(ranges, [2]time.Time{next, hi})
	}
	return ranges
}

// lookups are the arguments of findRecordedSQL after the workspaces: which
// events to look up, and where.
type lookups struct {
	wi          []int32
	ids         []string
	los, his    []int64
	first, last time.Time
	filtered    int // ranges a week filter left out
}

// lookUp is where to look for each of events[i], i in idx, as d says,
// leaving out the ids d knows and the ranges f rules out (f trusted, or
// nil: billing/weekfilter.go).
func lookUp(wsx workspaceIndex, events []pricedEvent, idx []int, now time.Time, d dedupe, f *weekFilter) lookups {
	l := lookups{wi: make([]int32, 0, len(idx)), ids: make([]string, 0, len(idx)), los: make([]int64, 0, len(idx)), his: make([]int64, 0, len(idx))}
	for _, i := range idx {
		ev := events[i]
		if d.known[eventKey{ev.workspace, ev.ID}] {
			continue
		}
		for _, r := range lookupRanges(ev.OccurredAt, now, d.wholeWindow) {
			if r[0].After(r[1]) {
				continue
			}
			if f.rulesOut(r, ev.workspace, ev.ID) {
				l.filtered++
				continue
			}
			if len(l.wi) == 0 || r[0].Before(l.first) {
				l.first = r[0]
			}
			if len(l.wi) == 0 || r[1].After(l.last) {
				l.last = r[1]
			}
			l.wi, l.ids = append(l.wi, wsx.of(ev.workspace)), append(l.ids, ev.ID)
			l.los, l.his = append(l.los, r[0].UnixMicro()), append(l.his, r[1].UnixMicro())
		}
	}
	return l
}

func (l lookups) args() []any {
	return []any{pq.Array(l.wi), textList(l.ids), pgarray.Int64s(l.los), pgarray.Int64s(l.his), l.first.UTC(), l.last.UTC()}
}

// findRecorded returns which of events[i] for i in idx are recorded
// already, as far as d says to look, plus the ids d knows.
func findRecorded(ctx context.Context, tx *ledger.Tx, wsx workspaceIndex, events []pricedEvent, idx []int, now time.Time, d dedupe) (map[eventKey]bool, error) {
	recorded := make(map[eventKey]bool, len(d.known))
	for k := range d.known {
		recorded[k] = true
	}
	l := lookUp(wsx, events, idx, now, d, nil)
	if len(l.wi) == 0 {
		return recorded, nil
	}
	rows, err := tx.QueryContext(ctx, findRecordedSQL, append([]any{wsx.literal}, l.args()...)...)
	if err != nil {
		return nil, fmt.Errorf("find recorded events: %w", err)
	}
	defer rows.Close()
	if _, err := scanEventKeys(rows, wsx, recorded); err != nil {
		return nil, fmt.Errorf("find recorded events: %w", err)
	}
	return recorded, nil
}

// scanEventKeys adds the (workspace number, event id) rows to into and
// returns how many it read.
func scanEventKeys(rows *sql.Rows, wsx workspaceIndex, into map[eventKey]bool) (int, error) {
	n := 0
	for rows.Next() {
		var wn int32
		var id string
		if err := rows.Scan(&wn, &id); err != nil {
			return n, err
		}
		ws, err := wsx.at(wn)
		if err != nil {
			return n, err
		}
		into[eventKey{ws, id}] = true
		n++
	}
	return n, rows.Err()
}

// chargeTraces adds each event's traces to its workspace's monthly counter
// and prices the traces beyond the plan's included count, event by event in
// batch order, so the (N+1)th trace of a month is the first one charged.
func chargeTraces(ctx context.Context, tx *ledger.Tx, events []pricedEvent, locked map[uuid.UUID]*lockedWorkspace) error {
	type key struct {
		ws    uuid.UUID
		month string
	}
	added := map[key]int64{}
	var order []key
	for _, ev := range events {
		if ev.Traces == 0 {
			continue
		}
		k := key{ev.workspace, month(ev.OccurredAt)}
		if _, ok := added[k]; !ok {
			order = append(order, k)
		}
		added[k] += ev.Traces
	}
	if len(order) == 0 {
		return nil
	}
	// In one order for every transaction: two of them counting traces of
	// the same workspaces at once (they take no common lock before) must
	// not lock the counters crosswise.
	slices.SortFunc(order, func(a, b key) int {
		if c := bytes.Compare(a.ws[:], b.ws[:]); c != 0 {
			return c
		}
		return strings.Compare(a.month, b.month)
	})
	ws, months, counts := make([]string, len(order)), make([]string, len(order)), make([]int64, len(order))
	for i, k := range order {
		ws[i], months[i], counts[i] = k.ws.String(), k.month, added[k]
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO trace_counters (workspace_id, month, count)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])
		ON CONFLICT (workspace_id, month) DO UPDATE SET count = trace_counters.count + EXCLUDED.count
		RETURNING workspace_id, month, count`, pq.Array(ws), pq.Array(months), pq.Array(counts))
	if err != nil {
		return fmt.Errorf("count traces: %w", err)
	}
	defer rows.Close()
	before := map[key]int64{} // the month's count before this batch
	for rows.Next() {
		var k key
		var total int64
		if err := rows.Scan(&k.ws, &k.month, &total); err != nil {
			return fmt.Errorf("count traces: %w", err)
		}
		before[k] = total - added[k]
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range events {
		ev := &events[i]
		if ev.Traces == 0 {
			continue
		}
		k := key{ev.workspace, month(ev.OccurredAt)}
		lw := locked[ev.workspace]
		from, to := before[k], before[k]+ev.Traces
		before[k] = to
		extra := overage(to, lw.includedTraces) - overage(from, lw.includedTraces)
		cost, err := money.Mul(lw.extraPrice, extra)
		if err != nil {
			return fmt.Errorf("trace cost of event %s: %w", ev.ID, err)
		}
		ev.traceCost = cost
	}
	return nil
}

// overage is how many of the first n traces of a month are beyond the plan.
func overage(n, included int64) int64 {
	if n <= included {
		return 0
	}
	return n - included
}

// insertEventsSQL inserts the events ($1–$12; workspaces, times and ids
// sent as in findRecordedSQL, models as a textList too).
var insertEventsSQL = `INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens,
			cached_input_tokens, traces, cost, trace_cost, batch, event_id, model)
		SELECT ($1::uuid[])[wi], 'epoch'::timestamptz + a * interval '1 microsecond', i, o, c, t, co, tc, $12, e, m
		FROM unnest($2::int[], ` + textListSQL(3) + `, ` + textListSQL(4) + `, $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
			$9::bigint[], $10::bigint[], $11::bigint[]) AS x(wi, e, m, i, o, c, t, a, co, tc)`

// addRollupsSQL adds the events' rollups ($13–$21, rollups.args) to
// usage_rollups.
const addRollupsSQL = `INSERT INTO usage_rollups (workspace_id, day, model, requests, input_tokens, output_tokens, cached_input_tokens, traces, cost)
	SELECT * FROM unnest($13::uuid[], $14::date[], $15::text[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[])
	ON CONFLICT (workspace_id, day, model) DO UPDATE SET requests = usage_rollups.requests + EXCLUDED.requests,
		input_tokens = usage_rollups.input_tokens + EXCLUDED.input_tokens, output_tokens = usage_rollups.output_tokens + EXCLUDED.output_tokens,
		cached_input_tokens = usage_rollups.cached_input_tokens + EXCLUDED.cached_input_tokens,
		traces = usage_rollups.traces + EXCLUDED.traces, cost = usage_rollups.cost + EXCLUDED.cost`

// recordEventsSQL inserts the events and, in the same statement (one
// round trip fewer for the transaction that holds its workspaces' locks),
// writes what follows from them (tail: addRollupsSQL or addAccrualSQL).
// An id the event's week holds already is a unique violation (see dedupe).
func recordEventsSQL(tail string) string {
	return `WITH events AS (` + insertEventsSQL + `)
	` + tail
}

// recordEventsLookingUpSQL is recordEventsSQL for a first attempt: it
// also returns which events are recorded already in the neighbouring
// weeks (lookupSQL, its arguments from $p on). Every part of one
// statement sees the same snapshot, taken after the week locks, so
// the lookup sees what was recorded before and not this insert.
func recordEventsLookingUpSQL(tail string, p int) string {
	return `WITH events AS (` + insertEventsSQL + `), tail AS (` + tail + `)
	` + lookupSQL(p)
}

// recordEventsRefusedSQL is recordEventsSQL for a later attempt: an id
// the event's partition holds already is not inserted but returned.
func recordEventsRefusedSQL(tail string) string {
	return `WITH events AS (` + insertEventsSQL + `
		ON CONFLICT DO NOTHING RETURNING workspace_id, event_id
	), tail AS (` + tail + `)
	SELECT x.wi, x.e FROM unnest($2::int[], ` + textListSQL(3) + `) AS x(wi, e)
	WHERE NOT EXISTS (SELECT FROM events WHERE events.workspace_id = ($1::uuid[])[x.wi] AND events.event_id = x.e)`
}

// effects is what recording a batch's events writes besides them: the SQL
// that follows the insert and its arguments ($13 on).
type effects func(events []pricedEvent) (tail string, args []any, err error)

// addRollups adds the batch's rollups to usage_rollups (an inline batch).
func addRollups(events []pricedEvent) (string, []any, error) {
	r, err := rollUps(events)
	if err != nil {
		return "", nil, err
	}
	return addRollupsSQL, append([]any{pgarray.UUIDs(r.ws)}, r.columns()...), nil
}

// recordEvents writes the events, charged under the ledger reference
// batch (which ledger entry charged them, and so when, is the batch; a
// deferred batch's is its settlement's), and what effects adds. A first
// attempt (d) also looks up the neighbouring weeks as look says. When an
// event turns out to be recorded already (the insert refuses an id its
// week holds, or the lookup finds it), it returns a *redo saying how to
// look for duplicates next time; the caller rolls back what was written.
func recordEvents(ctx context.Context, tx *ledger.Tx, wsx workspaceIndex, events []pricedEvent, batch uuid.UUID, d dedupe, look lookups, effects effects) error {
	tail, tailArgs, err := effects(events)
	if err != nil {
		return err
	}
	n := len(events)
	wi, ids, models := make([]int32, n), make([]string, n), make([]string, n)
	in, out, cached, traces, cost, traceCost := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	at := make([]int64, n)
	for i, ev := range events {
		wi[i], ids[i], models[i] = wsx.of(ev.workspace), ev.ID, ev.Model
		in[i], out[i], cached[i], traces[i] = ev.InputTokens, ev.OutputTokens, ev.CachedInputTokens, ev.Traces
		cost[i], traceCost[i] = int64(ev.cost), int64(ev.traceCost)
		at[i] = ev.OccurredAt.UnixMicro()
	}
	args := append([]any{wsx.literal, pq.Array(wi), textList(ids), textList(models), pgarray.Int64s(in), pgarray.Int64s(out),
		pgarray.Int64s(cached), pgarray.Int64s(traces), pgarray.Int64s(at), pgarray.Int64s(cost), pgarray.Int64s(traceCost), batch.String()}, tailArgs...)
	again := func(known map[eventKey]bool) error { return &redo{next: dedupe{wholeWindow: true, known: known}} }
	if !d.wholeWindow && len(look.wi) == 0 {
		_, err := tx.ExecContext(ctx, recordEventsSQL(tail), args...)
		if isUniqueViolation(err) { // an id its week holds
			return again(d.known)
		}
		if err != nil {
			return fmt.Errorf("record usage events: %w", err)
		}
		return nil
	}
	query := recordEventsRefusedSQL(tail)
	if !d.wholeWindow {
		query = recordEventsLookingUpSQL(tail, len(args)+1)
		args = append(args, look.args()...)
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if isUniqueViolation(err) {
		return again(d.known)
	}
	if err != nil {
		return fmt.Errorf("record usage events: %w", err)
	}
	defer rows.Close()
	known := maps.Clone(d.known)
	if known == nil {
		known = map[eventKey]bool{}
	}
	// The insert runs to its end after the rows are read, so its unique
	// violation may come with them.
	found, err := scanEventKeys(rows, wsx, known)
	if isUniqueViolation(err) {
		return again(d.known)
	}
	if err != nil {
		return fmt.Errorf("record usage events: %w", err)
	}
	if found > 0 {
		return again(known)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505"
}
