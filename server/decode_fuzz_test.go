package server

import (
	"bytes"
	"testing"
)

// FuzzDecodeUsage: any body either fails as a whole or yields at most
// maxEvents events, each either decoded or carrying a decode error; it
// never panics.
func FuzzDecodeUsage(f *testing.F) {
	for _, seed := range []string{
		`{"events":[{"id":"e1","workspace_id":"6f1c2a5e-8d6b-4b0e-9a55-3c1f4e2d7b90","model":"gpt-4o","input_tokens":10,"output_tokens":5,"occurred_at":"2026-11-25T10:00:00Z"}]}`,
		`{"events":[{"id":1},{"output_tokens":"x"},{"occurred_at":"yesterday"},null,[],"s"]}`,
		`{"events":[]}`, `{}`, `[`, `{"events":null}`, `{"events":[{"input_tokens":1e40}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := decodeUsage(bytes.NewReader(body), 50)
		if err != nil {
			if events != nil {
				t.Fatal("events returned with an error")
			}
			return
		}
		if len(events) > 50 {
			t.Fatalf("%d events past the limit", len(events))
		}
		for _, ev := range events {
			if ev.DecodeError != "" && (ev.Model != "" || ev.InputTokens != 0) {
				t.Fatalf("an undecodable event carries data: %+v", ev)
			}
		}
	})
}
