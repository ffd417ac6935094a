package billing_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/alerts/alertstest"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/ledger"
)

// BenchmarkIngestUsageAlerts is BenchmarkIngestUsage's 100 workspaces ×
// batch 100 with 16 reporters, in three settings measured in one run:
//
//   - alerts=off: no workspace has notification settings or endpoints.
//   - alerts=on: every workspace has a low-balance threshold (crossed by its
//     first deduction), a billing email and a webhook endpoint, and an
//     alerts worker delivers to a real SMTP server and an HTTP receiver in
//     this process: the ledger hook's cost on every usage transaction.
//   - alerts=backlog: as on, with 5,000 events (10,000 deliveries) waiting
//     in the outbox, delivered while usage is ingested: deliveries/s is the
//     outbox delivery rate under the usage load.
//
// The settings take turns over three rounds, so drift in the shared
// machine's load falls on all of them alike: compare events/s across them
// round by round. Run with a fixed count, e.g. -benchtime 400x, so each
// runs its setup once. BenchmarkIngestUsageAlertsInterleaved below
// interleaves finer, within one database.
func BenchmarkIngestUsageAlerts(b *testing.B) {
	for round := 1; round <= 3; round++ {
		for _, mode := range []string{"off", "on", "backlog"} {
			benchIngestWithAlerts(b, round, mode)
		}
	}
}

func benchIngestWithAlerts(b *testing.B, round int, mode string) {
	{
		b.Run(fmt.Sprintf("round=%d/alerts=%s", round, mode), func(b *testing.B) {
			f := newFixture(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ws := make([]uuid.UUID, 100)
			for i := range ws {
				ws[i] = f.workspace(b, "enterprise", "1000000")
			}
			var worker *alerts.Service
			if mode != "off" {
				worker = benchAlerts(b, f, ws, mode == "backlog")
			}
			count := func(query string) int {
				var n int
				if err := f.db.SQL.QueryRow(query).Scan(&n); err != nil {
					b.Fatal(err)
				}
				return n
			}
			delivered := func() int { return count(`SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'`) }
			before := 0
			var wg sync.WaitGroup
			if worker != nil {
				before = delivered()
				wg.Add(1)
				go func() { defer wg.Done(); worker.Run(ctx) }()
			}
			b.ResetTimer()
			var seq atomic.Int64
			b.SetParallelism(8)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					events := make([]billing.UsageEvent, 100)
					for i := range events {
						n := seq.Add(1)
						events[i] = billing.UsageEvent{ID: fmt.Sprint("e", n), WorkspaceID: ws[int(n)%len(ws)].String(), Model: "gpt-4o-mini",
							InputTokens: 1200, OutputTokens: 300, OccurredAt: time.Now()}
					}
					if _, err := f.svc.IngestUsage(context.Background(), events); err != nil {
						b.Error(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(seq.Load())/elapsed.Seconds(), "events/s")
			if worker != nil {
				cancel()
				wg.Wait()
				b.ReportMetric(float64(delivered()-before)/elapsed.Seconds(), "deliveries/s")
				b.ReportMetric(float64(count(`SELECT count(*) FROM alert_deliveries WHERE state = 'delivered' AND channel = 'webhook'`)), "webhooks-delivered")
				b.ReportMetric(float64(count(`SELECT count(*) FROM alert_deliveries WHERE state = 'pending'`)), "left-pending")
			}
		})
	}
}

// benchAlerts configures every workspace's alerts (threshold just below
// its balance, one email, one endpoint) and returns a worker; with backlog
// it also records 5,000 events to deliver.
func benchAlerts(b *testing.B, f *fixture, ws []uuid.UUID, backlog bool) *alerts.Service {
	a, _ := benchAlertsConfig(b, f, ws, backlog)
	return a
}

// benchAlertsConfig is benchAlerts, also returning the worker's config
// (to build more workers delivering to the same receivers).
func benchAlertsConfig(b *testing.B, f *fixture, ws []uuid.UUID, backlog bool) (*alerts.Service, alerts.Config) {
	b.Helper()
	ctx := context.Background()
	smtpd := alertstest.NewSMTPServer(b, "bench", "bench")
	recv := alertstest.NewReceiver(b)
	cfg := alerts.Config{SMTPURL: smtpd.URL(), SMTPTLS: smtpd.ClientTLS, AllowPrivate: true, PublicURL: "https://credits.example"}
	a, err := alerts.New(f.svc.Ledger().Ent(), cfg, f.log())
	if err != nil {
		b.Fatal(err)
	}
	threshold := usd(b, "999999.99")
	var secret string
	for _, w := range ws {
		if _, err := a.SetNotificationSettings(ctx, w, alerts.NotificationSettings{LowBalanceThreshold: &threshold, Emails: []string{"finance@acme.example"}}); err != nil {
			b.Fatal(err)
		}
		_, s, err := a.CreateWebhookEndpoint(ctx, w, recv.URL)
		if err != nil {
			b.Fatal(err)
		}
		if secret == "" {
			secret = s
		}
	}
	if _, err := f.db.SQL.Exec(`UPDATE webhook_endpoints SET secret = $1`, secret); err != nil {
		b.Fatal(err)
	}
	recv.SetSecret(secret)
	if !backlog {
		return a, cfg
	}
	err = f.svc.Ledger().InTx(ctx, func(tx *ledger.Tx) error {
		events := make([]alerts.Event, 5000)
		for i := range events {
			bal := usd(b, "-0.01")
			events[i] = alerts.Event{WorkspaceID: ws[i%len(ws)], Type: alerts.BalanceDepleted, Key: fmt.Sprint("backlog-", i), Data: alerts.Data{Balance: &bal}}
		}
		return alerts.Record(ctx, tx, f.svc.Now(), events)
	})
	if err != nil {
		b.Fatal(err)
	}
	return a, cfg
}

// BenchmarkIngestUsageAlertsInterleaved measures the same thing with the
// settings interleaved in short windows within one database, so that the
// shared machine's load drifts evenly over them: each round ingests 40
// batches of 100 events (16 reporters) into 100 workspaces without alerts
// ("off"), then 100 with alerts configured ("on"), then again into those
// while the alerts worker delivers a 5,000-event backlog flat out
// ("delivering"), then while it delivers paced at ALERTS_MAX_RATE's
// default of 50 a second ("paced"). b.N is the number of rounds
// (-benchtime 10x).
func BenchmarkIngestUsageAlertsInterleaved(b *testing.B) {
	f := newFixture(b)
	plain, alerting := make([]uuid.UUID, 100), make([]uuid.UUID, 100)
	for i := range plain {
		plain[i] = f.workspace(b, "enterprise", "1000000")
		alerting[i] = f.workspace(b, "enterprise", "1000000")
	}
	worker, cfg := benchAlertsConfig(b, f, alerting, true)
	cfg.MaxRate = 50
	paced, err := alerts.New(f.svc.Ledger().Ent(), cfg, f.log())
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	window := func(ws []uuid.UUID) (int64, time.Duration) {
		start, before := time.Now(), seq.Load()
		var wg sync.WaitGroup
		var next atomic.Int64
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= 40 {
					events := make([]billing.UsageEvent, 100)
					for i := range events {
						n := seq.Add(1)
						events[i] = billing.UsageEvent{ID: fmt.Sprint("e", n), WorkspaceID: ws[int(n)%len(ws)].String(), Model: "gpt-4o-mini",
							InputTokens: 1200, OutputTokens: 300, OccurredAt: time.Now()}
					}
					if _, err := f.svc.IngestUsage(context.Background(), events); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return seq.Load() - before, time.Since(start)
	}
	delivered := func() int {
		var n int
		if err := f.db.SQL.QueryRow(`SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	type total struct {
		events  int64
		elapsed time.Duration
	}
	var off, on, delivering, pacing total
	deliveries, pacedDeliveries := 0, 0
	b.ResetTimer()
	for range b.N {
		n, d := window(plain)
		off.events, off.elapsed = off.events+n, off.elapsed+d
		n, d = window(alerting)
		on.events, on.elapsed = on.events+n, on.elapsed+d
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		before := delivered()
		go func() { defer close(done); worker.Run(ctx) }()
		n, d = window(alerting)
		cancel()
		<-done
		deliveries += delivered() - before
		delivering.events, delivering.elapsed = delivering.events+n, delivering.elapsed+d
		ctx, cancel = context.WithCancel(context.Background())
		done = make(chan struct{})
		before = delivered()
		go func() { defer close(done); paced.Run(ctx) }()
		n, d = window(alerting)
		cancel()
		<-done
		pacedDeliveries += delivered() - before
		pacing.events, pacing.elapsed = pacing.events+n, pacing.elapsed+d
	}
	b.StopTimer()
	rate := func(t total) float64 { return float64(t.events) / t.elapsed.Seconds() }
	b.ReportMetric(rate(off), "off-events/s")
	b.ReportMetric(rate(on), "on-events/s")
	b.ReportMetric(rate(delivering), "delivering-events/s")
	b.ReportMetric(rate(on)/rate(off), "on/off")
	b.ReportMetric(rate(delivering)/rate(off), "delivering/off")
	b.ReportMetric(float64(deliveries)/delivering.elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(rate(pacing)/rate(off), "paced/off")
	b.ReportMetric(float64(pacedDeliveries)/pacing.elapsed.Seconds(), "paced-deliveries/s")
}
