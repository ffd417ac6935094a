package billing

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SetAfterChargeHook lets tests run code between the processor's answer
// and its recording (to simulate a crash there).
func SetAfterChargeHook(s *Service, f func(Purchase) error) { s.hookAfterCharge = f }

// Reads is how many times g read a balance from the database.
func (g *Gate) Reads() int64 { return g.reads.Load() }

// PreparedStatements is how many of s's usage statements are prepared.
func PreparedStatements(s *Service) int { return s.ledger.PreparedStatements() }

// DuplicateLookup is a statement that looks up recorded events: SQL, and
// how many arguments come between the workspaces ($1) and the lookup's.
type DuplicateLookup struct {
	SQL     string
	between int
}

// Args are the statement's arguments, written out: the workspaces, NULL
// for the events and their effects (EXPLAIN plans, it does not run), and
// the lookup's.
func (d DuplicateLookup) Args(workspaces, lookup string) string {
	return workspaces + strings.Repeat(", NULL", d.between) + ", " + lookup
}

// DuplicateLookups are the usage path's statements that look up recorded
// events: on its own (a later attempt), and recording a first attempt's
// inline or deferred events.
func DuplicateLookups() map[string]DuplicateLookup {
	inline := 11 + 9    // the insert's $2–$12, the rollups' $13–$21
	deferred := 11 + 14 // the insert's, the accrual's $13–$26
	return map[string]DuplicateLookup{
		"findRecordedSQL":                    {findRecordedSQL, 0},
		"recordEventsLookingUpSQL, inline":   {recordEventsLookingUpSQL(addRollupsSQL, inline+2), inline},
		"recordEventsLookingUpSQL, deferred": {recordEventsLookingUpSQL(addAccrualSQL, deferred+2), deferred},
	}
}

// LookupRanges is the usage path's duplicate lookup spans for an event at
// t: the window's parts outside t's week, or the whole window.
func LookupRanges(t, now time.Time, wholeWindow bool) [][2]time.Time {
	return lookupRanges(t, now, wholeWindow)
}

// WeekLocks is the mode (1 record, 2 look up, 3 both) a usage transaction
// recording events at the times given, on its first attempt or looking up
// the whole window, needs on each week lock table.
func WeekLocks(at []time.Time, now time.Time, wholeWindow bool) [4]int {
	events := make([]pricedEvent, len(at))
	for i, t := range at {
		events[i].OccurredAt = t
	}
	return weekLocksFor(events, now, dedupe{wholeWindow: wholeWindow})
}

// WeekLock is the lock table of the week starting at monday.
func WeekLock(monday time.Time) int { return weekLock(monday) }

// BuildWeekFilter builds s's dedupe filter of the week starting on monday
// and has s use it; false when the week is not sealed.
func BuildWeekFilter(ctx context.Context, s *Service, monday time.Time) (bool, error) {
	f, err := s.buildWeekFilter(ctx, monday)
	if err != nil || f == nil {
		return false, err
	}
	s.weekFilter.Store(f)
	return true, nil
}

// KeyFilterErrors adds keys to a filter sized for them and checks them
// and others: how many added keys it says it does not hold (must be 0),
// and the share of others it says it may hold.
func KeyFilterErrors(keys, others []string, ws uuid.UUID) (falseNegatives int, falsePositiveRate float64) {
	f := newKeyFilter(int64(len(keys)))
	for _, k := range keys {
		f.add(f.hash(ws, []byte(k)))
	}
	for _, k := range keys {
		if !f.mayHold(f.hashString(ws, k)) {
			falseNegatives++
		}
	}
	positives := 0
	for _, k := range others {
		if f.mayHold(f.hashString(ws, k)) {
			positives++
		}
	}
	return falseNegatives, float64(positives) / float64(max(1, len(others)))
}

// FilterMaxEvents is how many events a week filter may hold in this
// process, under its memory limit.
func FilterMaxEvents() int64 { return filterMaxEvents() }
