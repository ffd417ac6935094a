package alerts_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.DropTemplates()
	os.Exit(code)
}

// clock is the service clock tests move instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is billing and alerts over one fresh database, on one clock.
type harness struct {
	db      *pgtest.DB
	billing *billing.Service
	clock   *clock
	log     *slog.Logger
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{db: pgtest.New(t), clock: &clock{now: time.Now().UTC().Truncate(time.Microsecond)},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h.billing = billing.New(h.db.SQL, nil, billing.Config{Clock: h.clock.Now}, h.log)
	if err := h.billing.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// alerts builds an alerts service (another worker) on the harness's clock.
func (h *harness) alerts(t testing.TB, cfg alerts.Config) *alerts.Service {
	t.Helper()
	cfg.Clock = h.clock.Now
	if cfg.PublicURL == "" {
		cfg.PublicURL = "https://credits.example"
	}
	a, err := alerts.New(h.billing.Ledger().Ent(), cfg, h.log)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// workspace creates a workspace with a balance, a low-balance threshold and
// billing emails (none when emails is empty).
func (h *harness) workspace(t testing.TB, balance, threshold string, emails ...string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ws, err := h.billing.CreateWorkspace(ctx, "Acme Research", "pro")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.billing.Grant(ctx, ws, usd(t, balance), "opening credit", ""); err != nil {
		t.Fatal(err)
	}
	th := usd(t, threshold)
	if _, err := h.alerts(t, alerts.Config{}).SetNotificationSettings(ctx, ws, alerts.NotificationSettings{LowBalanceThreshold: &th, Emails: emails}); err != nil {
		t.Fatal(err)
	}
	return ws
}

// debit takes amount off the balance in its own transaction (an operator
// debit: a ledger change like any deduction).
func (h *harness) debit(t testing.TB, ws uuid.UUID, amount string) billing.Balance {
	t.Helper()
	b, err := h.billing.Grant(context.Background(), ws, -usd(t, amount), "debit", "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := h.db.SQL.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func runOnce(t testing.TB, svcs ...*alerts.Service) int {
	t.Helper()
	n := 0
	for _, s := range svcs {
		k, err := s.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return n
}

func usd(t testing.TB, s string) money.Amount {
	t.Helper()
	a, err := money.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
