package server_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/auth"
)

const txnPage = `query($first: Int, $after: String, $types: [TransactionType!]) {
	transactions(first: $first, after: $after, filter: {types: $types}) {
		totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id type createdAt } } } }`

func TestTransactions_PaginateEveryPurchaseExactlyOnceNewestFirst(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	other, otherOwner := e.workspace("0")
	if _, codes := e.gql(owner, addCredits, purchase("5.00", "pm_card_visa", "")); len(codes) != 0 {
		t.Fatal(codes)
	}
	if _, codes := e.gql(otherOwner, addCredits, purchase("5.00", "pm_card_visa", "")); len(codes) != 0 {
		t.Fatal(codes)
	}
	// 249 more through the saved card, 4 goroutines at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := 0; i < 249; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, codes := e.gql(owner, addCredits, map[string]any{"input": map[string]any{"amount": "5.00", "billing": billingInput()}}); len(codes) != 0 {
				t.Error(codes)
			}
		}()
	}
	wg.Wait()
	// Three auto top-ups, written as the auto top-up worker writes them.
	for i := 0; i < 3; i++ {
		if _, err := e.db.SQL.Exec(`INSERT INTO purchases (id, workspace_id, kind, status, amount, idempotency_key, created_at, updated_at)
			VALUES ($1, $2, 'auto_top_up', 'succeeded', 200000000000, $3, now(), now())`, uuid.New(), ws, fmt.Sprint("auto-", i)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	var after any
	var last time.Time
	pages := 0
	for {
		data, codes := e.gql(owner, txnPage, map[string]any{"first": 40, "after": after})
		if len(codes) != 0 {
			t.Fatal(codes)
		}
		conn := dig(data, "transactions").(map[string]any)
		if conn["totalCount"] != float64(253) {
			t.Fatalf("totalCount %v, want 253", conn["totalCount"])
		}
		for _, edge := range conn["edges"].([]any) {
			node := edge.(map[string]any)["node"].(map[string]any)
			id := node["id"].(string)
			if seen[id] {
				t.Fatalf("%s on two pages", id)
			}
			seen[id] = true
			// Compared as times: RFC 3339 strings drop trailing zeros of the
			// fraction, so "…20.58Z" sorts after "…20.584567Z" as text.
			created, err := time.Parse(time.RFC3339Nano, node["createdAt"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if !last.IsZero() && created.After(last) {
				t.Fatalf("not newest first: %s after %s", created, last)
			}
			last = created
		}
		pages++
		if dig(conn, "pageInfo", "hasNextPage") != true {
			break
		}
		after = dig(conn, "pageInfo", "endCursor")
	}
	if len(seen) != 253 || pages != 7 {
		t.Fatalf("%d transactions in %d pages, want 253 in 7", len(seen), pages)
	}
	for types, want := range map[string]float64{"PURCHASE": 250, "AUTO_TOP_UP": 3} {
		data, _ := e.gql(owner, txnPage, map[string]any{"first": 100, "types": []string{types}})
		if dig(data, "transactions", "totalCount") != want {
			t.Errorf("filter %s: %v, want %v", types, dig(data, "transactions", "totalCount"), want)
		}
		for _, edge := range dig(data, "transactions", "edges").([]any) {
			if dig(edge.(map[string]any), "node", "type") != types {
				t.Errorf("filter %s returned a %v", types, dig(edge.(map[string]any), "node", "type"))
			}
		}
	}
	// The other workspace sees its one purchase and none of these; node() of ours is null for it.
	data, _ := e.gql(otherOwner, txnPage, map[string]any{"first": 100})
	if dig(data, "transactions", "totalCount") != float64(1) {
		t.Fatalf("other workspace sees %v transactions", dig(data, "transactions", "totalCount"))
	}
	for id := range seen {
		data, codes := e.gql(otherOwner, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
		if len(codes) != 0 || data["node"] != nil {
			t.Fatalf("node(%s) for another workspace = %v %v", id, data, codes)
		}
		break
	}
	if _, codes := e.gql(owner, txnPage, map[string]any{"after": "garbage"}); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
		t.Errorf("bad cursor: %v", codes)
	}
	_ = other
}

func TestInvoices_NumbersAreConsecutiveUnderConcurrencyAndDeclinesTakeNone(t *testing.T) {
	e := newEnv(t)
	owners := make([]string, 10)
	for i := range owners {
		_, owners[i] = e.workspace("0")
	}
	// A declined purchase first: it must not consume a number.
	if _, codes := e.gql(owners[0], addCredits, purchase("5.00", "pm_card_chargeDeclined", "")); !slices.Equal(codes, []string{"PAYMENT_FAILED"}) {
		t.Fatal(codes)
	}
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, codes := e.gql(owners[i%10], addCredits, purchase("5.00", "pm_card_visa", fmt.Sprint("p", i))); len(codes) != 0 {
				t.Error(codes)
			}
		}(i)
	}
	wg.Wait()
	rows, err := e.db.SQL.Query(`SELECT seq, number FROM invoices ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := int64(0)
	for rows.Next() {
		var seq int64
		var number string
		if err := rows.Scan(&seq, &number); err != nil {
			t.Fatal(err)
		}
		n++
		if seq != n || !strings.HasSuffix(number, fmt.Sprintf("-%06d", n)) {
			t.Fatalf("invoice %d has seq %d number %s: not consecutive", n, seq, number)
		}
	}
	if n != 100 {
		t.Fatalf("%d invoices, want 100", n)
	}
}

const invoiceQuery = `query($id: ID!) { invoice(id: $id) { id number amount currency downloadUrl transaction { id status } } }`

func TestInvoices_SnapshotSurvivesProfileEditsAndOnlyTheWorkspaceCanRead(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	_, otherOwner := e.workspace("0")
	member := e.token(ws, auth.RoleMember)
	data, codes := e.gql(owner, addCredits, purchase("42.00", "pm_card_visa", ""))
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	invID := dig(data, "addCredits", "transaction", "invoice", "id").(string)
	before := e.download(invID, owner)
	if before.status != 200 || before.contentType != "application/pdf" || !strings.Contains(before.disposition, `filename="CR-`) {
		t.Fatalf("download: %+v", before)
	}
	// Edit the profile: the issued invoice must not change.
	if _, codes := e.gql(owner, `mutation { updateBillingProfile(input: {name: "New Name GmbH", address: {line1: "Neue Str. 1", city: "Berlin", country: "DE"}}) { name } }`, nil); len(codes) != 0 {
		t.Fatal(codes)
	}
	after := e.download(invID, member)
	if after.status != 200 || string(after.body) != string(before.body) {
		t.Fatal("the invoice changed after a profile edit (or the member cannot download it)")
	}
	if text := pdfText(t, after.body); !strings.Contains(text, "Zofia Müller-Łęcka") || strings.Contains(text, "New Name GmbH") ||
		!strings.Contains(text, "42.00") || !strings.Contains(text, "4242") || !strings.Contains(text, "PL5261025421") {
		t.Fatalf("invoice text: %s", text)
	}
	data, codes = e.gql(member, invoiceQuery, map[string]any{"id": invID})
	if len(codes) != 0 || dig(data, "invoice", "transaction", "status") != "SUCCEEDED" || dig(data, "invoice", "amount") != "42.00" {
		t.Fatalf("invoice query: %v %v", data, codes)
	}
	// Anyone else: 404 (or 401 without a token), and null from GraphQL.
	for name, tc := range map[string]struct {
		token string
		want  int
	}{"other workspace": {otherOwner, 404}, "service token": {e.service, 404}, "no token": {"", 401}, "revoked-looking token": {"cr_xxx", 401}} {
		if got := e.download(invID, tc.token); got.status != tc.want {
			t.Errorf("%s: download %d, want %d", name, got.status, tc.want)
		}
	}
	if data, codes := e.gql(otherOwner, invoiceQuery, map[string]any{"id": invID}); len(codes) != 0 || data["invoice"] != nil {
		t.Errorf("other workspace invoice(id) = %v %v", data, codes)
	}
	if got := e.download("inv_"+uuid.NewString(), owner); got.status != 404 {
		t.Errorf("unknown invoice: %d", got.status)
	}
}

type download struct {
	status                   int
	contentType, disposition string
	body                     []byte
}

func (e *env) download(invID, token string) download {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/invoices/"+strings.TrimPrefix(invID, "inv_")+".pdf", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return download{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), body}
}

func pdfText(t *testing.T, doc []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("PDF_TEXT_OPTIONAL") == "1" {
			t.Skip("pdftotext not installed (PDF_TEXT_OPTIONAL=1)")
		}
		t.Fatal("pdftotext not found: install poppler-utils (make test does)")
	}
	cmd := exec.Command("pdftotext", "-", "-")
	cmd.Stdin = strings.NewReader(string(doc))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
