package server_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/pgtest"
)

// germanSeller is a VAT-registered seller invoicing under the reverse charge.
var germanSeller = billing.Seller{Name: "AI Router GmbH", Address: []string{"Friedrichstraße 68", "10117 Berlin", "Germany"}, Country: "DE",
	TaxID: "DE136695976", TaxIDType: "eu_vat", TaxMode: billing.TaxReverseCharge}

func withSeller(s billing.Seller) func(*app.Options) {
	return func(o *app.Options) { o.Billing.Seller = s }
}

// An EU B2B buyer abroad: a Polish company (its name in Polish) with a
// contact in Thessaloniki (in Greek), and its VAT number.
func polishCompany(amount string) map[string]any {
	return map[string]any{"input": map[string]any{"amount": amount, "newPaymentMethod": "pm_card_mastercard", "billing": map[string]any{
		"name": "Zakład Usług Informatycznych Łódź Sp. z o.o.",
		"address": map[string]any{"line1": "ul. Piotrkowska 104", "line2": "Attn: Γιώργος Παπαδόπουλος, Θεσσαλονίκη", "city": "Łódź",
			"postalCode": "90-926", "country": "PL"},
		"taxId": map[string]any{"country": "PL", "type": "eu_vat", "value": "pl 526-102-54-21"}}}}
}

// Issue 18: the text of an invoice made through the real purchase flow
// has the buyer's name, tax ID with its label, the number and the totals
// exactly as entered, the seller's registration and the tax section; and
// the invoice stays as issued when TAX_MODE and the seller change later.
func TestInvoices_ReverseChargeEUB2BPrintsWhatAFinanceTeamNeeds(t *testing.T) {
	db := pgtest.New(t)
	e := newEnvWith(t, db, withSeller(germanSeller))
	_, owner := e.workspace("0")
	data, codes := e.gql(owner, addCredits, polishCompany("500.00"))
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	inv := dig(data, "addCredits", "transaction", "invoice").(map[string]any)
	doc := e.download(inv["id"].(string), owner)
	// Long names wrap in their column: compare with line breaks as spaces.
	text := strings.Join(strings.Fields(pdfText(t, doc.body)), " ")
	for _, want := range []string{
		inv["number"].(string),
		"Zakład Usług Informatycznych Łódź Sp. z o.o.",
		"Attn: Γιώργος Παπαδόπουλος, Θεσσαλονίκη",
		"EU VAT PL5261025421",          // the buyer's number as Stripe prints it, after its label
		"EU VAT DE136695976 (Germany)", // the seller's registration and its country
		"Subtotal", "VAT 0%", "500.00",
		"Reverse charge: VAT to be accounted for by the recipient",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("invoice text lacks %q", want)
		}
	}
	if strings.Contains(text, "eu_vat") || strings.Contains(text, "(eu_vat)") {
		t.Errorf("the invoice prints the Stripe code:\n%s", text)
	}
	if t.Failed() {
		t.Logf("invoice text:\n%s", text)
	}

	// Another instance on the same database, TAX_MODE none and another
	// seller: the issued invoice downloads byte for byte as before.
	later := newEnvWith(t, db, withSeller(billing.Seller{Name: "Someone Else Ltd", Address: []string{"1 Other St", "London", "United Kingdom"}, Country: "GB"}))
	again := later.download(inv["id"].(string), owner)
	if again.status != 200 || string(again.body) != string(doc.body) {
		t.Fatal("the issued invoice changed with the seller's configuration")
	}
	// A new invoice under the new rule: no tax statement.
	data, codes = later.gql(owner, addCredits, polishCompany("20.00"))
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	text = pdfText(t, later.download(dig(data, "addCredits", "transaction", "invoice", "id").(string), owner).body)
	if strings.Contains(text, "Reverse charge") || !strings.Contains(text, "Tax") || !strings.Contains(text, "Someone Else Ltd") {
		t.Fatalf("invoice under TAX_MODE none:\n%s", text)
	}
}

func TestInvoices_NoReverseChargeForADomesticBuyerOrAConsumer(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), withSeller(germanSeller))
	_, owner := e.workspace("0")
	domestic := polishCompany("50.00")
	b := domestic["input"].(map[string]any)["billing"].(map[string]any)
	b["name"], b["taxId"] = "Müller & Söhne GmbH", map[string]any{"country": "DE", "type": "eu_vat", "value": "DE136695976"}
	consumer := polishCompany("50.00")
	delete(consumer["input"].(map[string]any)["billing"].(map[string]any), "taxId")
	for name, vars := range map[string]map[string]any{"domestic": domestic, "consumer": consumer} {
		data, codes := e.gql(owner, addCredits, vars)
		if len(codes) != 0 {
			t.Fatal(name, codes)
		}
		text := pdfText(t, e.download(dig(data, "addCredits", "transaction", "invoice", "id").(string), owner).body)
		if strings.Contains(text, "Reverse charge") || strings.Contains(text, "VAT 0%") || !strings.Contains(text, "EU VAT DE136695976 (Germany)") {
			t.Fatalf("%s invoice:\n%s", name, text)
		}
	}
}

func TestUpdateBillingProfile_RefusesWhatAnInvoiceCannotPrintNamingTheField(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("0")
	const mutation = `mutation($in: BillingProfileInput!) { updateBillingProfile(input: $in) { name } }`
	for name, tc := range map[string]struct {
		field string
		in    map[string]any
	}{
		"Hebrew":      {"billing.name", map[string]any{"name": "שלום בע״מ", "address": map[string]any{"line1": "x", "city": "y", "country": "IL"}}},
		"Arabic":      {"billing.address.line1", map[string]any{"name": "Acme", "address": map[string]any{"line1": "شارع الملك فهد", "city": "y", "country": "SA"}}},
		"emoji":       {"billing.address.city", map[string]any{"name": "Acme", "address": map[string]any{"line1": "x", "city": "Berlin 🐻", "country": "DE"}}},
		"escape code": {"billing.name", map[string]any{"name": "\u001b]8;;http://evil\u0007Acme", "address": map[string]any{"line1": "x", "city": "y", "country": "DE"}}},
	} {
		_, out := e.post("/graphql", owner, map[string]any{"query": mutation, "variables": map[string]any{"in": tc.in}})
		errs, _ := out["errors"].([]any)
		if len(errs) != 1 {
			t.Fatalf("%s: %v", name, out)
		}
		ext := dig(errs[0].(map[string]any), "extensions").(map[string]any)
		if ext["code"] != "BAD_USER_INPUT" || ext["field"] != tc.field {
			t.Errorf("%s: %v, want BAD_USER_INPUT on %s", name, errs[0], tc.field)
		}
	}
	if data, _ := e.gql(owner, `{ billingProfile { name } }`, nil); data["billingProfile"] != nil {
		t.Fatalf("a refused profile was saved: %v", data)
	}
}

func TestTaxIDTypes_ListsEveryCountrysTypesSortedForTheSelects(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("0")
	const q = `query($c: String) { taxIdTypes(country: $c) { country type label example } }`
	data, codes := e.gql(owner, q, nil)
	all, _ := data["taxIdTypes"].([]any)
	if len(codes) != 0 || len(all) < 150 {
		t.Fatalf("all: %d types, %v", len(all), codes)
	}
	sorted := sort.SliceIsSorted(all, func(i, j int) bool {
		a, b := all[i].(map[string]any), all[j].(map[string]any)
		if a["country"] != b["country"] {
			return a["country"].(string) < b["country"].(string)
		}
		return a["label"].(string) < b["label"].(string)
	})
	countries := map[string]bool{}
	for _, x := range all {
		m := x.(map[string]any)
		countries[m["country"].(string)] = true
		if m["label"] == "" || m["example"] == "" || m["type"] == "" {
			t.Fatalf("incomplete type %v", m)
		}
	}
	if !sorted || !countries["SA"] || !countries["AR"] || !countries["CA"] || !countries["IL"] || !countries["TR"] || !countries["ID"] || !countries["CL"] {
		t.Fatalf("sorted %v, countries %v", sorted, countries)
	}
	for country, want := range map[string][]string{"DE": {"de_stn", "eu_oss_vat", "eu_vat"}, "ca": {"ca_bn", "ca_gst_hst", "ca_pst_bc", "ca_pst_mb", "ca_pst_sk", "ca_qst"},
		"SA": {"sa_vat"}, "XX": {}, "": {}, "  ": {}, "DEU": {}, "\x00": {}} {
		data, codes := e.gql(owner, q, map[string]any{"c": country})
		list, ok := data["taxIdTypes"].([]any)
		var types []string
		for _, x := range list {
			types = append(types, x.(map[string]any)["type"].(string))
		}
		slices.Sort(types)
		if len(codes) != 0 || !ok || !slices.Equal(types, want) && !(len(types) == 0 && len(want) == 0) {
			t.Errorf("taxIdTypes(%q) = %v %v, want %v", country, types, codes, want)
		}
	}
	if _, codes := e.gql("", q, nil); !slices.Equal(codes, []string{"UNAUTHENTICATED"}) {
		t.Errorf("without a token: %v", codes)
	}
}
