package billing

import "time"

// SetAfterChargeHook lets tests run code between the processor's answer
// and its recording (to simulate a crash there).
func SetAfterChargeHook(s *Service, f func(Purchase) error) { s.hookAfterCharge = f }

// Reads is how many times g read a balance from the database.
func (g *Gate) Reads() int64 { return g.reads.Load() }

// PreparedStatements is how many of s's usage statements are prepared.
func PreparedStatements(s *Service) int { return s.ledger.PreparedStatements() }

// FindRecordedSQL is the usage path's duplicate lookup.
const FindRecordedSQL = findRecordedSQL

// LookupRanges is the usage path's duplicate lookup spans for an event at
// t: the window's parts outside t's week, or the whole window.
func LookupRanges(t, now time.Time, wholeWindow bool) [][2]time.Time {
	return lookupRanges(t, now, wholeWindow)
}
