package billing

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"
)

// Gate answers the router's "may this workspace make a call?" from memory.
//
// Staleness bound: every balance change is announced by NOTIFY at commit and
// applied to the cache when it arrives (on the committing instance at once,
// through OnCommit). While the listener is connected the cache is therefore
// behind the database only by NOTIFY delivery (milliseconds). While it is
// not (Live false), an entry older than MaxStale is re-read from the
// database before it is used; on reconnect the whole cache is dropped,
// because notifications sent meanwhile are lost.
type Gate struct {
	svc *Service
	// MaxStale bounds how old a cached balance may be when the listener is down.
	MaxStale time.Duration

	live    atomic.Bool
	mu      sync.RWMutex
	entries map[uuid.UUID]gateEntry
	loads   singleflight.Group // concurrent misses of one workspace share one read
	reads   atomic.Int64       // database reads, for tests
}

type gateEntry struct {
	bal      Balance
	loadedAt int64 // unix nanoseconds
}

// NewGate returns a gate over svc, observing its own commits.
func NewGate(svc *Service, maxStale time.Duration) *Gate {
	g := &Gate{svc: svc, MaxStale: maxStale, entries: map[uuid.UUID]gateEntry{}}
	svc.OnCommit(g.Observe)
	return g
}

// Check returns the workspace's balance; b.Blocked() is the answer. It reads
// the database only for a workspace it has not seen, or, while the listener
// is down, one not refreshed within MaxStale.
func (g *Gate) Check(ctx context.Context, workspaceID uuid.UUID) (Balance, error) {
	g.mu.RLock()
	e, ok := g.entries[workspaceID]
	g.mu.RUnlock()
	if ok && (g.live.Load() || time.Now().UnixNano()-e.loadedAt < int64(g.MaxStale)) {
		return e.bal, nil
	}
	// The shared read must not end with the first caller's request.
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	v, err, _ := g.loads.Do(workspaceID.String(), func() (any, error) {
		g.reads.Add(1)
		b, err := g.svc.GetBalance(readCtx, workspaceID)
		if err == nil {
			g.store(b, true)
		}
		return b, err
	})
	if err != nil {
		return Balance{}, err
	}
	return v.(Balance), nil
}

// Observe applies a committed balance if it is newer than the cached one.
// Balances of workspaces not cached are ignored: the first Check loads them.
func (g *Gate) Observe(b Balance) { g.store(b, false) }

func (g *Gate) store(b Balance, insert bool) {
	now := time.Now().UnixNano()
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.entries[b.WorkspaceID]
	switch {
	case !ok && !insert:
		return
	case ok && e.bal.Version > b.Version:
		return
	}
	g.entries[b.WorkspaceID] = gateEntry{bal: b, loadedAt: now}
}

// SetLive records whether the NOTIFY listener is connected. Going live
// drops every entry: what changed while it was down is unknown.
func (g *Gate) SetLive(live bool) {
	if live {
		g.mu.Lock()
		g.entries = map[uuid.UUID]gateEntry{}
		g.mu.Unlock()
	}
	g.live.Store(live)
}
