package billing_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/partitions"
)

// BenchmarkIngestUsage measures committed usage events per second through
// IngestUsage against real Postgres, for one hot workspace and for many,
// with 16 concurrent reporters. Spread batches run twice: settled in their
// own transactions (inline) and deferred to the settler, which runs every
// second as in a server and settles the rest before the clock stops.
func BenchmarkIngestUsage(b *testing.B) {
	for _, tc := range []struct {
		workspaces, batch int
		deferred          bool
	}{{1, 1, false}, {1, 100, false}, {100, 100, false}, {100, 100, true}, {2000, 100, false}, {2000, 100, true}} {
		mode := "inline"
		if tc.deferred {
			mode = "deferred"
		}
		b.Run(fmt.Sprintf("workspaces=%d/batch=%d/%s", tc.workspaces, tc.batch, mode), func(b *testing.B) {
			f := newFixture(b)
			// The weekly partitions a running server keeps (it runs
			// Maintain at start): this week's events go to this week's.
			if err := partitions.Maintain(context.Background(), f.db.SQL, time.Now(), 400*24*time.Hour); err != nil {
				b.Fatal(err)
			}
			cfg := billing.Config{UsageDeferWorkspaces: -1}
			if tc.deferred {
				cfg.UsageDeferWorkspaces = 1
			}
			svc := billing.New(f.db.SQL, f.sandbox, cfg, f.log())
			if err := svc.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			ws := make([]uuid.UUID, tc.workspaces)
			for i := range ws {
				ws[i] = f.workspace(b, "enterprise", "1000000")
			}
			b.ResetTimer()
			var seq atomic.Int64
			settling, stopSettling := context.WithCancel(context.Background())
			settled := make(chan struct{})
			go func() { svc.RunSettlement(settling, time.Second); close(settled) }()
			b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 reporters
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					events := make([]billing.UsageEvent, tc.batch)
					for i := range events {
						n := seq.Add(1)
						events[i] = billing.UsageEvent{ID: fmt.Sprint("e", n), WorkspaceID: ws[int(n)%len(ws)].String(), Model: "gpt-4o-mini",
							InputTokens: 1200, OutputTokens: 300, OccurredAt: time.Now()}
					}
					if _, err := svc.IngestUsage(context.Background(), events); err != nil {
						b.Error(err)
						return
					}
				}
			})
			stopSettling()
			<-settled
			b.ReportMetric(float64(seq.Load())/time.Since(start).Seconds(), "events/s")
			b.StopTimer()
			if n := f.count(b, `SELECT count(*) FROM usage_accruals`); n != 0 {
				b.Fatalf("%d accruals left unsettled", n)
			}
		})
	}
}

// BenchmarkIngestUsage_SmallBatch is one reporter sending batches of 10
// events over 100 workspaces, one after another (the trickle of usage the
// authorize load harness charges underneath): ns/op is the latency of one
// usage transaction, which is mostly its round trips to Postgres. 3,000
// batches, so a plan that scans usage_events would show as growth.
func BenchmarkIngestUsage_SmallBatch(b *testing.B) {
	f := newFixture(b)
	ws := make([]uuid.UUID, 100)
	for i := range ws {
		ws[i] = f.workspace(b, "enterprise", "1000000")
	}
	n := 0
	b.ResetTimer()
	for range b.N {
		events := make([]billing.UsageEvent, 10)
		for i := range events {
			n++
			events[i] = billing.UsageEvent{ID: fmt.Sprint("e", n), WorkspaceID: ws[n%len(ws)].String(), Model: "gpt-4o-mini",
				InputTokens: 1200, OutputTokens: 300, OccurredAt: time.Now()}
		}
		if _, err := f.svc.IngestUsage(context.Background(), events); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGateCheck is the authorize decision from memory: it must not
// allocate or touch the database once a workspace is cached.
func BenchmarkGateCheck(b *testing.B) {
	f := newFixture(b)
	ws := f.workspace(b, "free", "10")
	gate := billing.NewGate(f.svc, time.Hour)
	gate.SetLive(true)
	ctx := context.Background()
	if _, err := gate.Check(ctx, ws); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if bal, err := gate.Check(ctx, ws); err != nil || bal.Blocked() {
				b.Error("unexpected answer")
				return
			}
		}
	})
}
