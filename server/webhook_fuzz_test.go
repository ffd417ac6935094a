package server_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// FuzzWebhook posts arbitrary payloads, signed or not, to /stripe/webhook:
// unsigned ones are always refused with 400, nothing panics, and no
// payload, signed or not, moves a balance it has no purchase for.
func FuzzWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","metadata":{"purchase_id":"00000000-0000-0000-0000-000000000000"}}}}`,
		`{"id":"evt_2","object":"event","type":"payment_method.detached","data":{"object":{"id":"pm_card_visa"}}}`,
		`{"id":"evt_3","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_x","metadata":{"purchase_id":"not-a-uuid"}}}}`,
		`{}`, `[`, `{"data":null}`,
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	e := newEnv(f)
	e.workspace("10")
	f.Fuzz(func(t *testing.T, payload []byte, sign bool) {
		header := "t=1,v1=00"
		if sign {
			signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: time.Now()})
			header = signed.Header
		}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/stripe/webhook", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		code := resp.StatusCode
		switch {
		case !sign && code != http.StatusBadRequest:
			t.Fatalf("unsigned payload answered %d", code)
		case code != http.StatusOK && code != http.StatusBadRequest && code != http.StatusInternalServerError:
			t.Fatalf("answered %d", code)
		}
		var moved int
		if err := e.db.SQL.QueryRow(`SELECT count(*) FROM ledger_entries WHERE kind IN ('purchase', 'auto_top_up')`).Scan(&moved); err != nil {
			t.Fatal(err)
		}
		if moved != 0 {
			t.Fatal("a webhook credited a purchase that does not exist")
		}
	})
}
