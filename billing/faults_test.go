package billing_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/stripemock"
)

// faultProxy forwards to stripe-mock and breaks PaymentIntent creation in
// the way the current mode says: "500", "slow" (beyond the client's
// timeout) or "drop" (the connection closes without an answer).
type faultProxy struct {
	mode  atomic.Value
	proxy *httputil.ReverseProxy
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/payment_intents") {
		switch p.mode.Load() {
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"type":"api_error","message":"An unknown error occurred"}}`) //nolint:errcheck
			return
		case "slow":
			time.Sleep(1500 * time.Millisecond)
		case "drop":
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
		}
	}
	p.proxy.ServeHTTP(w, r)
}

func TestStripeFaults_PurchasesFailCleanlyAndNeverCreditWithoutACharge(t *testing.T) {
	mock, err := url.Parse(stripemock.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{proxy: httputil.NewSingleHostReverseProxy(mock)}
	srv := httptest.NewServer(fp)
	defer srv.Close()
	f := newFixture(t)
	zero := int64(0)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	stripe := payments.NewStripe("sk_test_123", payments.StripeOptions{APIBase: srv.URL, MaxNetworkRetries: &zero, Timeout: time.Second}, log)
	svc := billing.New(f.db.SQL, stripe, billing.Config{}, log)
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	profile := billing.BillingProfile{Name: "A", Address: billing.Address{Line1: "x", City: "y", Country: "DE"}}
	scenarios := []string{"500", "slow", "drop"}
	for _, mode := range scenarios {
		t.Run(mode, func(t *testing.T) {
			fp.mode.Store(mode)
			_, err := svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_visa", Billing: profile, IdempotencyKey: "k-" + mode})
			if billing.CodeOf(err) != billing.CodePaymentFailed {
				t.Fatalf("err = %v, want PAYMENT_FAILED", err)
			}
			var status string
			if err := f.db.SQL.QueryRow(`SELECT status FROM purchases WHERE workspace_id = $1 AND idempotency_key = $2`, ws, "k-"+mode).Scan(&status); err != nil {
				t.Fatal(err)
			}
			// The outcome is unknown: the purchase stays PENDING for a retry with
			// the same key (or reconciliation), never credited meanwhile.
			if status != "pending" {
				t.Fatalf("purchase is %s, want pending", status)
			}
			if got := f.assertInvariant(t, ws); got != 0 {
				t.Fatalf("credited %s without a charge", got)
			}
			if n := f.count(t, `SELECT count(*) FROM invoices WHERE workspace_id = $1`, ws); n != 0 {
				t.Fatalf("%d invoices without a charge", n)
			}
		})
	}
	// Stripe unreachable altogether.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	down := billing.New(f.db.SQL, payments.NewStripe("sk_test_123", payments.StripeOptions{APIBase: dead, MaxNetworkRetries: &zero, Timeout: time.Second}, log), billing.Config{}, log)
	if err := down.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := down.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_visa", Billing: profile}); billing.CodeOf(err) != billing.CodePaymentFailed {
		t.Fatalf("unreachable Stripe: %v", err)
	}
	if got := f.assertInvariant(t, ws); got != 0 {
		t.Fatalf("credited %s with Stripe down", got)
	}
}
