package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/pgtest"
)

// The refund command runs in its own process, whose sandbox never saw the
// server's charges: the sandbox refunds its own intents as billing asks.
func TestRefundCommand_RefundsThroughTheProviderWithACreditNote(t *testing.T) {
	db := pgtest.New(t)
	t.Setenv("DATABASE_URL", db.URL)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := billing.New(db.SQL, payments.NewSandbox(log), billing.Config{}, log)
	ctx := context.Background()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ws, err := svc.CreateWorkspace(ctx, "cli", "free")
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: money.Dollars(25), NewPaymentMethod: "pm_card_visa",
		Billing: billing.BillingProfile{Name: "Zofia", Address: billing.Address{Line1: "ul. Piotrkowska 12", City: "Łódź", Country: "PL"}}})
	if err != nil {
		t.Fatal(err)
	}
	txn := "txn_" + res.Purchase.ID.String()
	refund := func(args ...string) (map[string]any, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"refund", "--transaction", txn, "--json"}, args...), &out)
		var got map[string]any
		if err == nil {
			if jerr := json.Unmarshal(out.Bytes(), &got); jerr != nil {
				t.Fatalf("output %q: %v", out.String(), jerr)
			}
		}
		return got, err
	}
	got, err := refund("--amount", "10.00", "--reason", "Unused credits")
	if err != nil || got["amount"] != "10.00" || got["balance"] != "15.00" || !strings.HasPrefix(got["credit_note"].(string), "CN-") ||
		!strings.HasPrefix(got["processor_id"].(string), "re_sbx_") {
		t.Fatalf("partial refund: %v %v", got, err)
	}
	if _, err := refund("--amount", "15.01", "--reason", "too much"); err == nil || !strings.Contains(err.Error(), "not yet refunded") {
		t.Fatalf("more than is left: %v", err)
	}
	// Spent down to 5.00: refunding the remaining 15.00 needs --allow-negative.
	if _, err := svc.Grant(ctx, ws, -money.Dollars(10), "usage", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := refund("--reason", "the rest"); err == nil || !strings.Contains(err.Error(), "below zero") {
		t.Fatalf("refund above the balance: %v", err)
	}
	got, err = refund("--reason", "the rest", "--allow-negative")
	if err != nil || got["amount"] != "15.00" || got["balance"] != "-10.00" || got["blocked"] != true {
		t.Fatalf("refund of the rest: %v %v", got, err)
	}
	for name, args := range map[string][]string{
		"no reason":    {"--amount", "1.00"},
		"a bad amount": {"--amount", "ten", "--reason", "x"},
		"a bad resume": {"--resume", "nope", "--reason", "x"},
		"nothing left": {"--reason", "x", "--allow-negative"},
	} {
		if _, err := refund(args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"refund", "--transaction", "txn_garbage", "--reason", "x"}, &out); err == nil {
		t.Error("a malformed transaction id was accepted")
	}
	sum, err := svc.LedgerSum(ctx, ws)
	if b, _ := svc.GetBalance(ctx, ws); err != nil || b.Amount != sum || b.Amount != -money.Dollars(10) {
		t.Fatalf("balance %s, ledger %s", b.Amount, sum)
	}
}

func TestConfig_TaxModeAndSellerCountry(t *testing.T) {
	for name, tc := range map[string]struct {
		env     map[string]string
		country string
		mode    billing.TaxMode
		fails   string
	}{
		"defaults":                     {nil, "US", billing.TaxNone, ""},
		"country from the address":     {map[string]string{"SELLER_ADDRESS": "Friedrichstraße 68; 10117 Berlin; Germany", "TAX_MODE": "reverse_charge"}, "DE", billing.TaxReverseCharge, ""},
		"SELLER_COUNTRY wins":          {map[string]string{"SELLER_ADDRESS": "1 Rue; Paris; France", "SELLER_COUNTRY": "de"}, "DE", billing.TaxNone, ""},
		"a country's name":             {map[string]string{"SELLER_COUNTRY": "Poland"}, "PL", billing.TaxNone, ""},
		"an unknown TAX_MODE":          {map[string]string{"TAX_MODE": "vat"}, "", "", "TAX_MODE"},
		"an unknown SELLER_COUNTRY":    {map[string]string{"SELLER_COUNTRY": "Atlantis"}, "", "", "SELLER_COUNTRY"},
		"reverse charge, no country":   {map[string]string{"SELLER_ADDRESS": "Somewhere 1", "TAX_MODE": "reverse_charge"}, "", "", "SELLER_COUNTRY"},
		"a seller tax ID of its type":  {map[string]string{"SELLER_COUNTRY": "DE", "SELLER_TAX_ID": "DE136695976", "SELLER_TAX_ID_TYPE": "eu_vat"}, "DE", billing.TaxNone, ""},
		"a seller tax ID that fails":   {map[string]string{"SELLER_COUNTRY": "DE", "SELLER_TAX_ID": "DE136695977", "SELLER_TAX_ID_TYPE": "eu_vat"}, "", "", "SELLER_TAX_ID"},
		"a seller name with an escape": {map[string]string{"SELLER_NAME": "\x1b[1mAI Router"}, "", "", "SELLER_NAME"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{"SELLER_ADDRESS", "SELLER_COUNTRY", "SELLER_TAX_ID", "SELLER_TAX_ID_TYPE", "SELLER_NAME", "TAX_MODE"} {
				t.Setenv(k, tc.env[k])
			}
			c, err := loadConfig()
			if tc.fails != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fails) {
					t.Fatalf("err %v, want one naming %s", err, tc.fails)
				}
				return
			}
			if err != nil || c.SellerCountry != tc.country || c.TaxMode != tc.mode || c.seller().Country != tc.country {
				t.Fatalf("config %+v %v", c, err)
			}
		})
	}
}
