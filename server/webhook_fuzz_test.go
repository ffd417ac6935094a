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
// payload, signed or not, moves a balance it has no purchase for (credits,
// refunds, disputes).
func FuzzWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","metadata":{"purchase_id":"00000000-0000-0000-0000-000000000000"}}}}`,
		`{"id":"evt_2","object":"event","type":"payment_method.detached","data":{"object":{"id":"pm_card_visa"}}}`,
		`{"id":"evt_3","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_x","metadata":{"purchase_id":"not-a-uuid"}}}}`,
		`{"id":"evt_4","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","amount":500,"amount_refunded":500,"payment_intent":"pi_1","refunds":{"object":"list","data":[{"id":"re_1","amount":500,"status":"succeeded"},null]}}}}`,
		`{"id":"evt_5","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","amount_refunded":-9223372036854775808,"payment_intent":{"id":"pi_1"},"metadata":{"purchase_id":"00000000-0000-0000-0000-000000000000"}}}}`,
		`{"id":"evt_6","object":"event","type":"charge.dispute.closed","data":{"object":{"id":"dp_1","object":"dispute","amount":9223372036854775807,"payment_intent":"pi_1","status":"lost"}}}`,
		`{"id":"evt_7","object":"event","type":"charge.dispute.created","data":{"object":{"id":"","status":"needs_response"}}}`,
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
		if err := e.db.SQL.QueryRow(`SELECT count(*) FROM ledger_entries WHERE kind IN ('purchase', 'auto_top_up', 'refund', 'dispute', 'dispute_won')`).Scan(&moved); err != nil {
			t.Fatal(err)
		}
		if moved != 0 {
			t.Fatal("a webhook moved a balance for a purchase that does not exist")
		}
	})
}
