package links

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSigned_WorksForItsDocumentUntilItExpiresAndNeverAfterTampering(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s, err := New("https://credits.example", []byte(strings.Repeat("k", 32)), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ws, id := uuid.New(), uuid.New()
	link := s.Signed(Invoice, ws, id)
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, "https://credits.example/invoices/"+id.String()+".pdf?") {
		t.Fatalf("link %q: %v", link, err)
	}
	q := u.Query()
	if got, err := s.Verify(Invoice, id, q); err != nil || got != ws {
		t.Fatalf("verify: %v %v", got, err)
	}
	tamper := func(key, value string) url.Values {
		c := url.Values{}
		for k, v := range q {
			c[k] = v
		}
		c.Set(key, value)
		return c
	}
	cases := map[string]func() error{
		"another document":  func() error { _, err := s.Verify(Invoice, uuid.New(), q); return err },
		"another kind":      func() error { _, err := s.Verify(CreditNote, id, q); return err },
		"another workspace": func() error { _, err := s.Verify(Invoice, id, tamper("ws", uuid.NewString())); return err },
		"a later expiry":    func() error { _, err := s.Verify(Invoice, id, tamper("expires", "9999999999")); return err },
		"a forged sig":      func() error { _, err := s.Verify(Invoice, id, tamper("sig", "AAAA")); return err },
		"no sig":            func() error { _, err := s.Verify(Invoice, id, tamper("sig", "")); return err },
		"garbage expiry":    func() error { _, err := s.Verify(Invoice, id, tamper("expires", "1e10")); return err },
		"another key": func() error {
			other, _ := New("https://credits.example", []byte(strings.Repeat("x", 32)), func() time.Time { return now })
			_, err := other.Verify(Invoice, id, q)
			return err
		},
	}
	for name, verify := range cases {
		if err := verify(); err != ErrInvalid {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	now = now.Add(TTL - time.Second)
	if _, err := s.Verify(Invoice, id, q); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := s.Verify(Invoice, id, q); err != ErrInvalid {
		t.Fatalf("at expiry: %v", err)
	}
	if _, err := New("x", []byte("short"), nil); err == nil {
		t.Fatal("a short key was accepted")
	}
}
