package billing

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ledger"
)

// Group commit: usage reports arriving together are charged in one
// transaction. A transaction holds its workspaces' row locks until its
// commit (an fsync), so one transaction per report caps a busy workspace at
// the disk's commit rate; merging the reports that queue up meanwhile
// multiplies what each commit carries. Every report is answered only after
// the transaction holding its events has committed (or failed), so an
// acknowledged event is durable.

// maxGroupEvents bounds one merged transaction.
const maxGroupEvents = 5000

// spreadInFlight is how many group transactions one process runs at once
// when they are spread over many workspaces (deferred: more than
// UsageDeferWorkspaces). Such a transaction locks no workspace row, and
// week locks do not conflict between live transactions
// (billing/weeklocks.go), so a second one runs while the first waits on
// its round trips. On the 2-core reference machine, where one at a time
// left the machine idle an eighth of the time, 10,000 workspaces went
// from 45,219 to 51,182 events/s (docs/performance.md); a third would
// find no idle core. No group is gathered while one of few workspaces
// commits: it row-locks its workspaces, so a second group of the same hot
// workspace would only wait for it, and the groups would halve (two
// committers for one workspace: 59,800 → 51,700). Several processes
// still commit in parallel; their transactions take locks and rows in
// one order, so cannot deadlock.
const spreadInFlight = 2

type commitRequest struct {
	ctx      context.Context
	events   []pricedEvent
	outcomes []outcome
	err      error
	done     chan struct{}
}

// commit charges valid events through the group committer and returns
// their outcomes.
func (s *Service) commit(ctx context.Context, events []pricedEvent) ([]outcome, error) {
	s.startCommitters.Do(func() {
		s.commitQueue = make(chan *commitRequest, 1024)
		go s.runCommitter()
	})
	req := &commitRequest{ctx: ctx, events: events, done: make(chan struct{})}
	select {
	case s.commitQueue <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Wait for the outcome even if ctx ends meanwhile: the events may be
	// committing, and the caller must not be told they were not.
	<-req.done
	return req.outcomes, req.err
}

// runCommitter gathers what queued into a group (up to maxGroupEvents) as
// soon as a transaction may start, and commits it: a spread group in the
// background, so that the next group may start beside it, any other
// group before gathering the next.
func (s *Service) runCommitter() {
	slots := make(chan struct{}, spreadInFlight)
	for first := range s.commitQueue {
		slots <- struct{}{}
		group := []*commitRequest{first}
		n := len(first.events)
	gather:
		for n < maxGroupEvents {
			select {
			case r := <-s.commitQueue:
				group = append(group, r)
				n += len(r.events)
			default:
				break gather
			}
		}
		if !s.spread(group) {
			s.commitGroup(group, n) // gathering nothing meanwhile
			<-slots
			continue
		}
		go func() {
			defer func() { <-slots }()
			s.commitGroup(group, n)
		}()
	}
}

// spread says whether the group's transaction will be deferred (defers):
// its events belong to more workspaces than UsageDeferWorkspaces.
func (s *Service) spread(group []*commitRequest) bool {
	seen := map[uuid.UUID]struct{}{}
	for _, r := range group {
		for _, ev := range r.events {
			seen[ev.workspace] = struct{}{}
			if s.defers(len(seen)) {
				return true
			}
		}
	}
	return false
}

// defers says whether a usage transaction whose events belong to that many
// workspaces leaves their balances to the settler (billing/settle.go).
func (s *Service) defers(workspaces int) bool { return workspaces > s.cfg.UsageDeferWorkspaces }

// commitGroup charges the requests' events in one transaction. Requests
// whose caller already gave up are left out before it starts. When the
// group's transaction fails, each request is retried in a transaction of
// its own, so one request that cannot commit (a poisoned event, a
// deadlock) fails alone instead of failing every report it was grouped with.
func (s *Service) commitGroup(group []*commitRequest, n int) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	all := make([]pricedEvent, 0, n)
	for _, r := range live {
		all = append(all, r.events...)
	}
	outcomes, err := s.commitEvents(all)
	if err != nil && len(live) > 1 {
		s.log.Warn("usage group commit failed; retrying its reports one by one", "reports", len(live), "err", err)
		for _, r := range live {
			r.outcomes, r.err = s.commitEvents(r.events)
			close(r.done)
		}
		return
	}
	off := 0
	for _, r := range live {
		if err != nil {
			r.err = err
		} else {
			r.outcomes = outcomes[off : off+len(r.events)]
		}
		off += len(r.events)
		close(r.done)
	}
}

// commitEvents charges events in one transaction, made again when its
// insert refused an event as recorded already (see dedupe). The
// transaction is not tied to any one caller's context: a client hanging
// up must not roll back the other reports in its group.
func (s *Service) commitEvents(events []pricedEvent) ([]outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var outcomes []outcome
	var d dedupe
	var err error
	for attempt := 1; ; attempt++ {
		err = s.inTx(ctx, func(tx *ledger.Tx) error {
			var err error
			outcomes, err = s.chargeBatch(ctx, tx, events, s.now(), d)
			return err
		})
		var again *redo
		if !errors.As(err, &again) || attempt == maxUsageAttempts {
			break
		}
		s.usageRedos.Add(1)
		d = again.next
	}
	if err == nil && len(outcomes) != len(events) {
		err = errors.New("group commit: outcome count mismatch")
	}
	return outcomes, err
}

// UsageRedos is how many usage transactions were made again because their
// insert refused an event the lookup had not found (a retry within its
// week, usually): a metric for operators.
func (s *Service) UsageRedos() int64 { return s.usageRedos.Load() }
