package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/billing"
)

// decodeUsageReference is the earlier decoder, kept as the oracle for the
// streaming one: the body into raw events with encoding/json, then each
// event again. decodeUsage must agree with it on every body (FuzzDecodeUsageAgrees).
func decodeUsageReference(body io.Reader, maxEvents int) ([]billing.UsageEvent, error) {
	var payload struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.NewDecoder(body).Decode(&payload); err != nil {
		return nil, errors.New(`body must be JSON: {"events": [...]}`)
	}
	if payload.Events == nil {
		return nil, errNoEvents
	}
	if len(payload.Events) > maxEvents {
		return nil, errTooManyEvents
	}
	type refEvent struct {
		ID                string    `json:"id"`
		WorkspaceID       string    `json:"workspace_id"`
		Model             string    `json:"model"`
		InputTokens       int64     `json:"input_tokens"`
		OutputTokens      int64     `json:"output_tokens"`
		CachedInputTokens int64     `json:"cached_input_tokens"`
		Traces            int64     `json:"traces"`
		OccurredAt        time.Time `json:"occurred_at"`
		RequestID         string    `json:"request_id"`
		HoldID            string    `json:"hold_id"`
	}
	events := make([]billing.UsageEvent, 0, len(payload.Events))
	for _, raw := range payload.Events {
		var ev refEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			events = append(events, billing.UsageEvent{DecodeError: "event does not decode: " + decodeProblem(err)})
			continue
		}
		events = append(events, billing.UsageEvent{ID: ev.ID, WorkspaceID: ev.WorkspaceID, Model: ev.Model,
			InputTokens: ev.InputTokens, OutputTokens: ev.OutputTokens, CachedInputTokens: ev.CachedInputTokens,
			Traces: ev.Traces, OccurredAt: ev.OccurredAt, RequestID: ev.RequestID, HoldID: ev.HoldID})
	}
	return events, nil
}

var decodeSeeds = []string{
	`{"events":[{"id":"e1","workspace_id":"6f1c2a5e-8d6b-4b0e-9a55-3c1f4e2d7b90","model":"gpt-4o","input_tokens":10,"output_tokens":5,"occurred_at":"2026-11-25T10:00:00Z"}]}`,
	`{"events":[{"id":1},{"output_tokens":"x"},{"occurred_at":"yesterday"},null,[],"s"]}`,
	`{"events":[]}`, `{}`, `[`, `{"events":null}`, `{"events":[{"input_tokens":1e40}]}`, `null`, `{"events":{}}`,
	`{"EVENTS":[{"ID":"a","Model":"m"}]}`, `{"events":[{"id":"a"}],"events":[{"id":"b"}]}`, `{"other":[1,{"x":2}],"events":[]} trailing`,
	`{"events":[{"occurred_at":5,"id":"x"}]}`, `{"events":[{"traces":"1","occurred_at":"bad"}]}`, `{"events":[{"id":"a"},{"id":"b"},{"id":"c"}]}`,
	`{"events":[{"id":"a\u0000"}]}`, "{\"events\":[{\"id\":\"\xff\"}]}", `{"events":[{"input_tokens":9223372036854775808}]}`,
}

// FuzzDecodeUsageAgrees: the streaming decoder accepts what the reference
// accepts and refuses what it refuses; accepted events are identical, and
// an event that does not decode does so in both (its message and best-effort
// id may differ only in which of several problems is named).
func FuzzDecodeUsageAgrees(f *testing.F) {
	for _, seed := range decodeSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const max = 2
		got, gotErr := decodeUsage(bytes.NewReader(body), max)
		want, wantErr := decodeUsageReference(bytes.NewReader(body), max)
		if errors.Is(gotErr, errTooManyEvents) && wantErr != nil {
			return // refused early, before the rest of the body was read: both refuse
		}
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("body %q: streaming error %v, reference error %v", body, gotErr, wantErr)
		}
		if gotErr != nil {
			if errors.Is(wantErr, errNoEvents) != errors.Is(gotErr, errNoEvents) || errors.Is(wantErr, errTooManyEvents) != errors.Is(gotErr, errTooManyEvents) {
				t.Fatalf("body %q: streaming error %v, reference error %v", body, gotErr, wantErr)
			}
			return
		}
		if len(got) != len(want) {
			t.Fatalf("body %q: %d events, reference %d", body, len(got), len(want))
		}
		for i := range got {
			if (got[i].DecodeError == "") != (want[i].DecodeError == "") {
				t.Fatalf("body %q event %d: %+v, reference %+v", body, i, got[i], want[i])
			}
			if got[i].DecodeError == "" && !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("body %q event %d: %+v, reference %+v", body, i, got[i], want[i])
			}
		}
	})
}

func TestDecodeUsage_BadEventKeepsItsID(t *testing.T) {
	events, err := decodeUsage(strings.NewReader(`{"events":[{"occurred_at":"yesterday","id":"late-id"},{"id":"typed","input_tokens":"x"}]}`), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].ID != "late-id" || events[1].ID != "typed" {
		t.Fatalf("events %+v; want the ids late-id and typed kept", events)
	}
	if events[0].DecodeError != "event does not decode: occurred_at must be an RFC 3339 time" ||
		events[1].DecodeError != "event does not decode: input_tokens must be int64" {
		t.Fatalf("decode errors %q, %q", events[0].DecodeError, events[1].DecodeError)
	}
}

func TestDecodeUsage_RefusesAnOversizedBatchBeforeReadingIt(t *testing.T) {
	// 3 events then a body that never ends: refused after the third event
	// is seen, without waiting for the rest.
	r := io.MultiReader(strings.NewReader(`{"events":[{"id":"a"},{"id":"b"},{"id":"c"},`), neverEnding{})
	if _, err := decodeUsage(r, 2); !errors.Is(err, errTooManyEvents) {
		t.Fatalf("err %v; want errTooManyEvents", err)
	}
}

// neverEnding is a body whose rest never arrives: reading it fails the test.
type neverEnding struct{}

func (neverEnding) Read([]byte) (int, error) { panic("read past the limit") }

func TestDecodeUsage_BodyTooLarge(t *testing.T) {
	body := `{"events":[` + strings.Repeat(`{"id":"a"},`, 100) + `{"id":"z"}]}`
	rec := httptest.NewRecorder()
	_, err := decodeUsage(http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(body)), 200), 1000)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("err %v; want request body is too large", err)
	}
}

func benchmarkBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"ingest1-%016x","workspace_id":"00000000-0000-4000-8000-%012d","model":"gpt-4o-mini","input_tokens":%d,"output_tokens":%d,"cached_input_tokens":0,"traces":1,"occurred_at":"2026-11-28T21:00:00.123456Z","request_id":"","hold_id":""}`,
			uint64(i)*0x9E3779B97F4A7C15, i%10000, 1000+i%500, 200+i%100)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkDecodeUsage: the streaming decoder against the earlier one
// (reference), a batch of 100 events as the bench sends them.
func BenchmarkDecodeUsage(b *testing.B) {
	body := benchmarkBody(100)
	for _, c := range []struct {
		name   string
		decode func(io.Reader, int) ([]billing.UsageEvent, error)
	}{{"reference", decodeUsageReference}, {"streaming", decodeUsage}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := c.decode(bytes.NewReader(body), 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A client that hangs up mid-event: the read error fails the whole body;
// the half-read event is not turned into a rejected event of a batch that
// would then be charged.
func TestDecodeUsage_ClientHangsUpMidEvent(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`{"events":[{"id":"a","model":"gpt-4o"},{"id":"b","inp`), hungUp{})
	events, err := decodeUsage(r, 10)
	if err == nil || events != nil {
		t.Fatalf("events %+v, err %v; want the body refused", events, err)
	}
}

type hungUp struct{}

func (hungUp) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }
