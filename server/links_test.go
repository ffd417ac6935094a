package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/pgtest"
)

// get fetches path (with its query) from the test server without a token.
func (e *env) getPlain(rawURL string) (int, []byte) {
	e.t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.Get(e.srv.URL + u.RequestURI())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// Issue 17.6: "Download Invoice" as a plain link, bound to one document,
// for 15 minutes.
func TestInvoices_SignedDownloadURLWorksWithoutAHeaderAndOnlyAsSigned(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("0")
	data, codes := e.gql(owner, addCredits, purchase("25.00", "pm_card_visa", ""))
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	invID := dig(data, "addCredits", "transaction", "invoice", "id").(string)
	data, codes = e.gql(owner, `query($id: ID!) { invoice(id: $id) { downloadUrl signedDownloadUrl } }`, map[string]any{"id": invID})
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	signed := dig(data, "invoice", "signedDownloadUrl").(string)
	if !strings.HasPrefix(signed, dig(data, "invoice", "downloadUrl").(string)+"?") {
		t.Fatalf("signed %q", signed)
	}
	code, body := e.getPlain(signed)
	if code != http.StatusOK || !strings.HasPrefix(string(body), "%PDF") {
		t.Fatalf("signed link: %d", code)
	}
	u, _ := url.Parse(signed)
	tampered := map[string]string{}
	// Each changed to another well-formed value: the first character
	// swapped for a different one (base64 and hex alike), the expiry moved.
	other := func(v string) string {
		if v[0] == 'a' {
			return "b" + v[1:]
		}
		return "a" + v[1:]
	}
	for key, change := range map[string]func(string) string{"ws": other, "sig": other,
		"expires": func(v string) string { n, _ := strconv.ParseInt(v, 10, 64); return strconv.FormatInt(n+60, 10) }} {
		q := u.Query()
		q.Set(key, change(q.Get(key)))
		tampered[key] = u.Path + "?" + q.Encode()
	}
	tampered["other invoice"] = "/invoices/00000000-0000-0000-0000-000000000001.pdf?" + u.RawQuery
	tampered["no query"] = u.Path
	for name, link := range tampered {
		want := http.StatusNotFound
		if name == "no query" {
			want = http.StatusUnauthorized // the plain link needs the token
		}
		if code, _ := e.getPlain("http://x" + link); code != want {
			t.Errorf("%s: %d, want %d", name, code, want)
		}
	}
}

// Issue 17.6: an expired signed link is a 404.
func TestInvoices_ASignedDownloadURLExpiresAfter15Minutes(t *testing.T) {
	clock := newTestClock()
	e := newEnvWith(t, pgtest.New(t), func(o *app.Options) { o.Billing.Clock = clock.Now })
	_, owner := e.workspace("0")
	data, codes := e.gql(owner, addCredits, purchase("25.00", "pm_card_visa", ""))
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	data, _ = e.gql(owner, `query($id: ID!) { invoice(id: $id) { signedDownloadUrl } }`,
		map[string]any{"id": dig(data, "addCredits", "transaction", "invoice", "id")})
	signed := dig(data, "invoice", "signedDownloadUrl").(string)
	clock.Advance(15*time.Minute - time.Second)
	if code, _ := e.getPlain(signed); code != http.StatusOK {
		t.Fatalf("just before expiry: %d", code)
	}
	clock.Advance(time.Second)
	if code, _ := e.getPlain(signed); code != http.StatusNotFound {
		t.Fatalf("expired: %d", code)
	}
}

// Issue 17.5: the Add Credits dialog validates with the server's limits.
func TestPurchaseSettings_GivesTheLimitsAndNoKeyInTheSandbox(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("0")
	data, codes := e.gql(owner, `{ purchaseSettings { currency minimum maximum stripePublishableKey } }`, nil)
	if len(codes) != 0 || dig(data, "purchaseSettings", "minimum") != "5.00" || dig(data, "purchaseSettings", "maximum") != "10000.00" ||
		dig(data, "purchaseSettings", "currency") != "USD" || dig(data, "purchaseSettings", "stripePublishableKey") != nil {
		t.Fatalf("%v %v", data, codes)
	}
	if _, codes := e.gql("", `{ purchaseSettings { minimum } }`, nil); len(codes) != 1 || codes[0] != "UNAUTHENTICATED" {
		t.Fatalf("anonymous: %v", codes)
	}
}
