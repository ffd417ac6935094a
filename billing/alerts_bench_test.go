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
// Compare events/s across the three (same run, same machine).
func BenchmarkIngestUsageAlerts(b *testing.B) {
	for _, mode := range []string{"off", "on", "backlog"} {
		b.Run("alerts="+mode, func(b *testing.B) {
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
	b.Helper()
	ctx := context.Background()
	smtpd := alertstest.NewSMTPServer(b, "bench", "bench")
	recv := alertstest.NewReceiver(b)
	a, err := alerts.New(f.svc.Ledger().Ent(), alerts.Config{SMTPURL: smtpd.URL(), SMTPTLS: smtpd.ClientTLS, AllowPrivate: true,
		PublicURL: "https://credits.example"}, f.log())
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
		return a
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
	return a
}
