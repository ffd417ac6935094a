package billing

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/usagerollup"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgarray"
)

// rollups are a batch's events summed per workspace, day and model: what
// usage_rollups adds, so the usage view never scans events. An inline
// batch adds them in its own transaction (recordEventsSQL); a deferred one
// carries them in its accrual to the settler (billing/settle.go).
type rollups struct {
	ws                                      []uuid.UUID
	days, models                            []string
	requests, in, out, cached, traces, cost []int64
}

// rollUps sums events into rollups, in the order the keys first appear.
func rollUps(events []pricedEvent) (rollups, error) {
	type key struct {
		ws    uuid.UUID
		day   int64 // the UTC midnight it follows, Unix seconds
		model string
	}
	at := make(map[key]int, len(events))
	var r rollups
	for _, ev := range events {
		k := key{ev.workspace, ev.OccurredAt.Truncate(24 * time.Hour).Unix(), ev.Model} // days since the zero time are UTC days
		i, ok := at[k]
		if !ok {
			i = len(r.ws)
			at[k] = i
			day := time.Unix(k.day, 0).UTC().Format(time.DateOnly)
			r.ws, r.days, r.models = append(r.ws, k.ws), append(r.days, day), append(r.models, k.model)
			r.requests, r.in, r.out = append(r.requests, 0), append(r.in, 0), append(r.out, 0)
			r.cached, r.traces, r.cost = append(r.cached, 0), append(r.traces, 0), append(r.cost, 0)
		}
		// Counts are bounded per event (MaxTokensPerEvent, MaxTracesPerEvent)
		// and per group (maxGroupEvents), so these sums cannot overflow; the
		// cost is checked all the same, as every money sum is.
		r.requests[i]++
		r.in[i] += ev.InputTokens
		r.out[i] += ev.OutputTokens
		r.cached[i] += ev.CachedInputTokens
		r.traces[i] += ev.Traces
		cost, err := money.Sum(money.Amount(r.cost[i]), ev.cost, ev.traceCost)
		if err != nil {
			return rollups{}, fmt.Errorf("roll up usage: %w", err)
		}
		r.cost[i] = int64(cost)
	}
	return r, nil
}

// columns are the rollups' arrays after the workspace, in addRollupsSQL's
// (and an accrual's) column order; each caller names the workspaces its
// own way.
func (r rollups) columns() []any {
	return []any{pgarray.Texts(r.days), pgarray.Texts(r.models), pgarray.Int64s(r.requests), pgarray.Int64s(r.in), pgarray.Int64s(r.out),
		pgarray.Int64s(r.cached), pgarray.Int64s(r.traces), pgarray.Int64s(r.cost)}
}

// UsageRow is one row of the usage view. Day is zero unless grouped by
// day; Model is empty unless grouped by model.
type UsageRow struct {
	Day                                          time.Time
	Model                                        string
	Requests                                     int64
	InputTokens, OutputTokens, CachedInputTokens int64
	Traces                                       int64
	Cost                                         money.Amount // tokens and trace overage
}

// MaxUsageDays bounds the usage view's window, in calendar days counted
// from from's day to to's day inclusive.
const MaxUsageDays = 400

// usageEpoch and usageEnd bound the instants the usage view accepts:
// nothing was billed before the service existed, and Postgres's date type
// ends in 294276 (and years before 1 cannot even be printed as RFC 3339).
var usageEpoch, usageEnd = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// UsageSummary sums the workspace's usage over whole UTC days, from the day
// of from to the day of to inclusive (by the events' occurred_at), grouped
// by day and/or model (neither: one total row), days ascending then
// models by name.
func (s *Service) UsageSummary(ctx context.Context, workspaceID uuid.UUID, from, to time.Time, byDay, byModel bool) ([]UsageRow, error) {
	for _, t := range []struct {
		field string
		at    time.Time
	}{{"from", from}, {"to", to}} {
		if t.at.Before(usageEpoch) || t.at.After(usageEnd) {
			return nil, badInput(t.field, "%s must be between 2000-01-01 and 9999-12-31", t.field)
		}
	}
	fromDay, toDay := dayOf(from), dayOf(to)
	if toDay.Before(fromDay) {
		return nil, badInput("to", "to must not be before from")
	}
	if days := int(toDay.Sub(fromDay).Hours()/24) + 1; days > MaxUsageDays {
		return nil, badInput("to", "the window spans %d calendar days; at most %d are allowed", days, MaxUsageDays)
	}
	var groups []string
	if byDay {
		groups = append(groups, usagerollup.FieldDay)
	}
	if byModel {
		groups = append(groups, usagerollup.FieldModel)
	}
	q := s.ent.UsageRollup.Query().Where(usagerollup.WorkspaceID(workspaceID), usagerollup.DayGTE(fromDay), usagerollup.DayLTE(toDay))
	sums := []ent.AggregateFunc{
		ent.As(ent.Sum(usagerollup.FieldRequests), "requests"), ent.As(ent.Sum(usagerollup.FieldInputTokens), "input_tokens"),
		ent.As(ent.Sum(usagerollup.FieldOutputTokens), "output_tokens"), ent.As(ent.Sum(usagerollup.FieldCachedInputTokens), "cached_input_tokens"),
		ent.As(ent.Sum(usagerollup.FieldTraces), "traces"), ent.As(ent.Sum(usagerollup.FieldCost), "cost"),
	}
	var rows []struct {
		Day               sql.NullTime   `json:"day"`
		Model             sql.NullString `json:"model"`
		Requests          sql.NullInt64  `json:"requests"`
		InputTokens       sql.NullInt64  `json:"input_tokens"`
		OutputTokens      sql.NullInt64  `json:"output_tokens"`
		CachedInputTokens sql.NullInt64  `json:"cached_input_tokens"`
		Traces            sql.NullInt64  `json:"traces"`
		Cost              sql.NullInt64  `json:"cost"`
	}
	var err error
	if len(groups) > 0 {
		err = q.Order(orderBy(groups)...).GroupBy(groups[0], groups[1:]...).Aggregate(sums...).Scan(ctx, &rows)
	} else {
		err = q.Aggregate(sums...).Scan(ctx, &rows)
	}
	if err != nil {
		return nil, fmt.Errorf("usage summary: %w", err)
	}
	out := make([]UsageRow, 0, len(rows))
	for _, r := range rows {
		row := UsageRow{Model: r.Model.String, Requests: r.Requests.Int64, InputTokens: r.InputTokens.Int64, OutputTokens: r.OutputTokens.Int64,
			CachedInputTokens: r.CachedInputTokens.Int64, Traces: r.Traces.Int64, Cost: money.Amount(r.Cost.Int64)}
		if r.Day.Valid {
			row.Day = r.Day.Time.UTC()
		}
		out = append(out, row)
	}
	return out, nil
}

func orderBy(fields []string) []usagerollup.OrderOption {
	out := make([]usagerollup.OrderOption, len(fields))
	for i, f := range fields {
		out[i] = entsql.OrderByField(f).ToFunc()
	}
	return out
}

// dayOf is the UTC calendar day t falls on.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
