package pagecursor

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestRoundTrip(t *testing.T) {
	at, id := time.Date(2026, 11, 28, 23, 40, 1, 123456000, time.UTC), uuid.New()
	gotAt, gotID, err := Decode(Encode(at, id))
	if err != nil || !gotAt.Equal(at) || gotID != id {
		t.Fatalf("got %v %v %v", gotAt, gotID, err)
	}
}

// Forged cursors: garbage, NUL bytes, the largest numbers, no id.
func TestDecode_RefusesForgedCursors(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	id := uuid.New().String()
	for _, c := range []string{"", "!!!", enc("x"), enc("12:"), enc(":" + id), enc("9223372036854775807:" + id),
		enc("-9223372036854775808:" + id), enc("99999999999999999999:" + id), enc("1\x00:" + id), enc("1:" + id + "\x00")} {
		if _, _, err := Decode(c); err == nil {
			t.Errorf("cursor %q decoded", c)
		}
	}
}
