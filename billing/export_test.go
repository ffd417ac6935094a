package billing

// SetAfterChargeHook lets tests run code between the processor's answer
// and its recording (to simulate a crash there).
func SetAfterChargeHook(s *Service, f func(Purchase) error) { s.hookAfterCharge = f }

// Reads is how many times g read a balance from the database.
func (g *Gate) Reads() int64 { return g.reads.Load() }

// PreparedStatements is how many of s's usage statements are prepared.
func PreparedStatements(s *Service) int { return s.ledger.PreparedStatements() }

// FindRecordedSQL is the usage path's duplicate lookup.
const FindRecordedSQL = findRecordedSQL
