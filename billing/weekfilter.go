package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/partitions/week"
)

// The week filter spares live events most of their duplicate lookup of
// last week. Every live event's first attempt looks up last week's
// partition (dedupe), and nearly every probe finds nothing; at a year of
// history that probe was about half of what one workspace's ingestion
// lost to growth (docs/performance.md). So each instance keeps a Bloom
// filter of last week's (workspace, event id) keys, and a usage
// transaction leaves out of its lookup every range inside that week whose
// key the filter says the week does not hold. A key the filter may hold
// (about 1 in 80 of those not there, and every real duplicate) is looked
// up as before.
//
// The filter is built from one snapshot, so it is trusted only while
// nothing has been added to the week since: the week must be sealed
// (partitions.Seal: from then on a trigger counts every transaction that
// inserts into it, in usage_week_seals.late_writes), the filter records
// the count read in the snapshot it was built from, and a usage
// transaction reads the count after its week locks (usage_lock_weeks) and
// trusts the filter only when the two agree. A late event recorded into
// the week after the seal changes the count: every instance falls back to
// the lookup until its builder has read the week again (weekFilterPoll).
//
// Why that suffices: a transaction that inserted into the week either
// committed before the seal (and before the filter's snapshot, which sees
// the seal) or was counted; one counted and committed before this
// transaction's count was read changed it; one not yet committed then
// cannot commit before this transaction's lookup, because it records
// into the week (ROW EXCLUSIVE on the week lock) and this transaction
// looks it up (SHARE) — or, an instance older than the week locks, it
// holds the workspace's event-id lock exclusive, which this transaction
// holds shared.

// weekFilterPoll is how often an instance checks that its filter is of
// last week and still trusted, and builds it again if not.
const weekFilterPoll = time.Minute

// maxFilterEvents bounds a week's filter at 125 MB of each instance's
// memory (filterBitsPerKey), and filterMaxEvents at a quarter of the Go
// memory limit (serve's default GOMEMLIMIT, 128 MiB, so takes weeks of up
// to 26 million events): a week of more events is looked up in Postgres
// alone, as before the filter.
const maxFilterEvents = 100_000_000

// filterMaxEvents is how many events this process's filter may hold.
func filterMaxEvents() int64 {
	limit := debug.SetMemoryLimit(-1) // reads it
	return min(maxFilterEvents, limit/4/filterBitsPerKey*8)
}

// filterBitsPerKey sizes the filter: 10 bits a key give about 1.3 % false
// positives (each a lookup, as without the filter).
const filterBitsPerKey = 10

// keyFilter is a split block Bloom filter (as Parquet's) of (workspace,
// event id) keys: each key sets one bit in each of the 8 words of one
// 32-byte block, so a check reads one block. Safe for concurrent checks
// once built.
type keyFilter struct {
	seed   maphash.Seed
	blocks [][8]uint32
}

// filterSalt spreads a key's 32-bit hash over a block's 8 words.
var filterSalt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

func newKeyFilter(keys int64) *keyFilter {
	blocks := max(1, (keys*filterBitsPerKey+255)/256)
	return &keyFilter{seed: maphash.MakeSeed(), blocks: make([][8]uint32, blocks)}
}

func (f *keyFilter) hash(ws uuid.UUID, id []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.Write(ws[:])
	h.Write(id)
	return h.Sum64()
}

func (f *keyFilter) hashString(ws uuid.UUID, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.Write(ws[:])
	h.WriteString(id)
	return h.Sum64()
}

func (f *keyFilter) block(h uint64) *[8]uint32 {
	return &f.blocks[(h>>32)*uint64(len(f.blocks))>>32]
}

func (f *keyFilter) add(h uint64) {
	b, x := f.block(h), uint32(h)
	for i, s := range filterSalt {
		b[i] |= 1 << ((x * s) >> 27)
	}
}

// mayHold is false when the key was never added.
func (f *keyFilter) mayHold(h uint64) bool {
	b, x := f.block(h), uint32(h)
	for i, s := range filterSalt {
		if b[i]&(1<<((x*s)>>27)) == 0 {
			return false
		}
	}
	return true
}

// weekFilter is an instance's filter of one sealed week.
type weekFilter struct {
	week       time.Time // its Monday
	lateWrites int64     // the week's usage_week_seals.late_writes it was built at
	events     int64
	keys       *keyFilter
	built      time.Duration // how long the build took
}

// rulesOut is true when the lookup range r lies in the filter's week and
// the week does not hold the key (f nil: never).
func (f *weekFilter) rulesOut(r [2]time.Time, ws uuid.UUID, id string) bool {
	return f != nil && !r[0].Before(f.week) && r[1].Before(f.week.Add(week.Length)) && !f.keys.mayHold(f.keys.hashString(ws, id))
}

// trustedFilter is f when late, its week's count as a usage transaction
// read it after its week locks, is the count f was built at; otherwise
// nil, and the builder reads the week again at its next poll (at most
// once a weekFilterPoll, however many late events come).
func (s *Service) trustedFilter(f *weekFilter, late sql.NullInt64) *weekFilter {
	if f == nil {
		return nil
	}
	if late.Valid && late.Int64 == f.lateWrites {
		return f
	}
	s.weekFilterStale.Store(f)
	return nil
}

// WakeWeekFilter asks RunWeekFilter to look for last week's seal now
// (partition maintenance calls it after sealing).
func (s *Service) WakeWeekFilter() {
	select {
	case s.weekFilterWake <- struct{}{}:
	default:
	}
}

// filterInUse is the filter no usage transaction has found untrusted
// yet, or nil.
func (s *Service) filterInUse() *weekFilter {
	if f := s.weekFilter.Load(); f != nil && s.weekFilterStale.Load() != f {
		return f
	}
	return nil
}

// UsageFilterEvents is how many events the filter in use holds (0 when
// none is trusted), for /metrics.
func (s *Service) UsageFilterEvents() int64 {
	if f := s.filterInUse(); f != nil {
		return f.events
	}
	return 0
}

// UsageFilterWeek is the Monday of the week the filter in use is of (zero
// when none is trusted), for /metrics.
func (s *Service) UsageFilterWeek() time.Time {
	if f := s.filterInUse(); f != nil {
		return f.week
	}
	return time.Time{}
}

// UsageLookupsFiltered counts the lookup ranges the filter left out.
func (s *Service) UsageLookupsFiltered() int64 { return s.lookupsFiltered.Load() }

// RunWeekFilter keeps this instance's filter of last week until ctx ends:
// built once the week is sealed, and again when a usage transaction found
// it no longer trusted (checked every weekFilterPoll, and on
// WakeWeekFilter).
func (s *Service) RunWeekFilter(ctx context.Context) {
	t := time.NewTicker(weekFilterPoll)
	defer t.Stop()
	var tooBig time.Time // a week found over maxFilterEvents, not read again
	for {
		s.refreshWeekFilter(ctx, &tooBig)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.weekFilterWake:
		}
	}
}

// refreshWeekFilter builds the filter of last week when the one in use is
// of another week, or no longer trusted: a usage transaction found so, or
// the week's count moved since it was built (checked here too, so that
// a late write is noticed, and the filter rebuilt, before the next live
// event has to fall back to Postgres).
func (s *Service) refreshWeekFilter(ctx context.Context, tooBig *time.Time) {
	monday := week.Start(s.now()).AddDate(0, 0, -7)
	if tooBig.Equal(monday) {
		return
	}
	if cur := s.filterInUse(); cur != nil && cur.week.Equal(monday) {
		var late int64
		err := s.ledger.DB().QueryRowContext(ctx, lateWritesSQL, monday.Format(time.DateOnly)).Scan(&late)
		if err == nil && late == cur.lateWrites {
			return
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			if ctx.Err() == nil {
				s.log.Warn("usage dedupe filter: read the seal", "week", monday.Format(time.DateOnly), "err", err)
			}
			return
		}
		s.weekFilterStale.Store(cur)
	}
	f, err := s.buildWeekFilter(ctx, monday)
	switch {
	case errors.Is(err, errWeekTooBig):
		*tooBig = monday
		s.log.Info("usage dedupe filter: last week is too big to filter; its lookups go to Postgres", "week", monday.Format(time.DateOnly), "err", err)
	case err != nil:
		if ctx.Err() == nil {
			s.log.Warn("usage dedupe filter: build", "week", monday.Format(time.DateOnly), "err", err)
		}
	case f != nil:
		s.weekFilter.Store(f)
		s.log.Info("usage dedupe filter built", "week", monday.Format(time.DateOnly), "events", f.events,
			"bytes", len(f.keys.blocks)*32, "took", f.built.Round(time.Millisecond))
	}
}

var errWeekTooBig = errors.New("more events than the filter takes")

// lateWritesSQL reads a sealed week's count ($1 its Monday); no row when
// the week is not sealed.
const lateWritesSQL = `SELECT late_writes FROM usage_week_seals WHERE week = $1`

// buildWeekFilter reads the week starting on monday into a filter, in one
// snapshot with its seal's count; nil when the week is not sealed.
func (s *Service) buildWeekFilter(ctx context.Context, monday time.Time) (*weekFilter, error) {
	started := time.Now()
	tx, err := s.ledger.DB().BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // read only
	f := &weekFilter{week: monday}
	err = tx.QueryRowContext(ctx, lateWritesSQL, monday.Format(time.DateOnly)).Scan(&f.lateWrites)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the seal: %w", err)
	}
	from, to := monday.UTC(), monday.Add(week.Length).UTC()
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM usage_events WHERE occurred_at >= $1 AND occurred_at < $2`, from, to).Scan(&f.events); err != nil {
		return nil, fmt.Errorf("count the week's events: %w", err)
	}
	if most := filterMaxEvents(); f.events > most {
		return nil, fmt.Errorf("%w: %d events (%d at most: a quarter of GOMEMLIMIT, 125 MB at most)", errWeekTooBig, f.events, most)
	}
	f.keys = newKeyFilter(f.events)
	rows, err := tx.QueryContext(ctx, `SELECT workspace_id, event_id FROM usage_events WHERE occurred_at >= $1 AND occurred_at < $2`, from, to)
	if err != nil {
		return nil, fmt.Errorf("read the week's events: %w", err)
	}
	defer rows.Close()
	var wsText, id sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&wsText, &id); err != nil {
			return nil, err
		}
		ws, err := uuid.ParseBytes(wsText)
		if err != nil {
			return nil, fmt.Errorf("read the week's events: %w", err)
		}
		f.keys.add(f.keys.hash(ws, id))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the week's events: %w", err)
	}
	f.built = time.Since(started)
	return f, nil
}
