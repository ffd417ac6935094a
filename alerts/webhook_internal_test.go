package alerts

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func TestPublicAddr_RefusesEveryNonPublicRange(t *testing.T) {
	for addr, public := range map[string]bool{
		"93.184.216.34": true, "8.8.8.8": true, "2606:4700:4700::1111": true,
		"127.0.0.1": false, "127.255.255.254": false, "10.0.0.1": false, "10.255.255.255": false, "172.16.0.1": false,
		"172.31.255.255": false, "192.168.0.1": false, "169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false,
		"0.1.2.3": false, "192.0.2.1": false, "198.18.0.1": false, "240.0.0.1": false, "255.255.255.255": false, "224.0.0.1": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "fd12:3456::1": false, "ff02::1": false,
		"::ffff:10.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:169.254.169.254": false, "64:ff9b::a9fe:a9fe": false,
		"2002:a9fe:a9fe::": false, "2001:db8::1": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("publicAddr(%s) = %v, want %v", addr, got, public)
		}
	}
}

// The guard runs on the resolved address just before connect(2); these
// are refused without any packet sent (nothing here dials).
func TestGuardDial_RefusesPrivateAddressesBeforeConnecting(t *testing.T) {
	for _, addr := range []string{"10.1.2.3:443", "169.254.169.254:80", "127.0.0.1:8080", "[::1]:443", "[fe80::1%eth0]:443", "192.168.1.1:443", "garbage"} {
		var refused *RefusedAddressError
		if err := guardDial("tcp4", addr, nil); !errors.As(err, &refused) {
			t.Errorf("%s: %v, want refused", addr, err)
		}
	}
	if err := guardDial("tcp4", "93.184.216.34:443", nil); err != nil {
		t.Errorf("a public address was refused: %v", err)
	}
	// With AllowPrivate, loopback and private ranges pass; link-local never.
	for addr, ok := range map[string]bool{"127.0.0.1:80": true, "10.1.2.3:443": true, "169.254.169.254:80": false, "[fe80::1]:443": false} {
		if err := guardDialPrivate("tcp4", addr, nil); (err == nil) != ok {
			t.Errorf("AllowPrivate, %s: %v", addr, err)
		}
	}
}

func TestSign_MatchesTheStandardWebhooksReference(t *testing.T) {
	secret, err := newSecret()
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"balance.low","data":{"balance":"4.20"}}`)
	at := time.Unix(1_798_000_000, 0)
	sig, err := Sign(secret, "evt_1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := wh.Sign("evt_1", at, body)
	if sig != want {
		t.Fatalf("signature %s, reference %s", sig, want)
	}
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", "1798000000")
	h.Set("webhook-signature", sig)
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		t.Fatal(err)
	}
	if err := wh.VerifyIgnoringTimestamp(append(body, ' '), h); err == nil {
		t.Fatal("a changed body verified")
	}
	if _, err := Sign("whsec_not base64!", "evt_1", at, body); err == nil {
		t.Fatal("a malformed secret signed")
	}
}

func TestBackoff_DoublesUpToTheCap(t *testing.T) {
	s := &Service{cfg: Config{Backoff: 30 * time.Second, MaxBackoff: time.Hour}.withDefaults()}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := s.backoff(i + 1); got != w {
			t.Errorf("attempt %d: %s, want %s", i+1, got, w)
		}
	}
	if got := s.backoff(1 << 30); got != time.Hour {
		t.Errorf("a huge attempt count: %s", got)
	}
}

func TestEmailOf_KeepsHeadersOnOneLineAndCarriesNoSecrets(t *testing.T) {
	e := Event{Type: AutoTopUpFailed, Data: Data{WorkspaceName: "Evil\r\nBcc: x@y.example", Currency: "USD", Reason: strings.Repeat("declined\n", 100), Attempt: 1}}
	m := emailOf(e, "alerts@credits.example", []string{"a@acme.example"})
	if strings.ContainsAny(m.Subject, "\r\n") || len([]rune(m.Subject)) > 201 {
		t.Fatalf("subject %q", m.Subject)
	}
	if strings.Contains(m.Text, "whsec_") || strings.Contains(m.HTML, "whsec_") {
		t.Fatal("a secret in an email")
	}
}
