package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
)

type authorizeRequest struct {
	WorkspaceID string `json:"workspace_id"`
	// An optional estimate places a hold for the call's worst case.
	Model           string `json:"model"`
	MaxInputTokens  *int64 `json:"max_input_tokens"`
	MaxOutputTokens *int64 `json:"max_output_tokens"`
	RequestID       string `json:"request_id"`
}

type authorizeResponse struct {
	Allowed   bool       `json:"allowed"`
	Balance   string     `json:"balance,omitempty"`
	Available string     `json:"available,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	HoldID    string     `json:"hold_id,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// authorize answers whether a workspace may make a router call, from the
// in-memory gate: 200 allowed, 402 insufficient_credits.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	var req authorizeRequest
	if err := decodeSmall(r.Body, &req); err != nil {
		writeError(w, codeBadUserInput, "body must be JSON: {\"workspace_id\": \"…\"}")
		return
	}
	ws, err := uuid.Parse(req.WorkspaceID)
	if err != nil {
		writeError(w, codeBadUserInput, "workspace_id is not a valid id")
		return
	}
	if req.MaxInputTokens != nil || req.MaxOutputTokens != nil || req.Model != "" {
		s.authorizeWithHold(w, r, ws, req)
		return
	}
	b, err := s.deps.Gate.Check(r.Context(), ws)
	if err != nil {
		s.writeFailure(w, "authorize", err)
		return
	}
	if b.Blocked() {
		s.metrics.authorizeBlocked.Inc()
		writeJSON(w, http.StatusPaymentRequired, authorizeResponse{Allowed: false, Reason: "insufficient_credits", Balance: b.Amount.String()})
		return
	}
	s.metrics.authorizeAllowed.Inc()
	writeAllowed(w, b.Amount)
}

// writeAllowed is writeJSON(200, authorizeResponse{Allowed: true, Balance:
// …}) without reflection: the answer to almost every router call.
func writeAllowed(w http.ResponseWriter, balance money.Amount) {
	buf := smallBuffers.Get().(*bytes.Buffer)
	defer smallBuffers.Put(buf)
	buf.Reset()
	buf.WriteString(`{"allowed":true,"balance":"`)
	buf.WriteString(balance.String()) // digits, a sign and a point: nothing to escape
	buf.WriteString("\"}\n")
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

// jsonContentType is shared by every response that sets it directly; the
// server only reads it.
var jsonContentType = []string{"application/json"}

var smallBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeSmall decodes a small JSON body through a pooled buffer: a
// json.Decoder allocates its own buffer per request.
func decodeSmall(body io.Reader, v any) error {
	buf := smallBuffers.Get().(*bytes.Buffer)
	defer smallBuffers.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(body); err != nil {
		return err
	}
	return json.Unmarshal(buf.Bytes(), v)
}

// authorizeWithHold reserves the call's worst-case cost in Postgres; it is
// a database round trip, unlike the plain check, and exact under any
// concurrency: the holds granted never exceed the balance.
func (s *Server) authorizeWithHold(w http.ResponseWriter, r *http.Request, ws uuid.UUID, req authorizeRequest) {
	var in, out int64
	if req.MaxInputTokens != nil {
		in = *req.MaxInputTokens
	}
	if req.MaxOutputTokens != nil {
		out = *req.MaxOutputTokens
	}
	h, b, allowed, err := s.deps.Billing.PlaceHold(r.Context(), billing.HoldRequest{WorkspaceID: ws, Model: req.Model,
		MaxInputTokens: in, MaxOutputTokens: out, RequestID: req.RequestID})
	if err != nil {
		s.writeFailure(w, "authorize with hold", err)
		return
	}
	if !allowed {
		s.metrics.authorizeBlocked.Inc()
		writeJSON(w, http.StatusPaymentRequired, authorizeResponse{Allowed: false, Reason: "insufficient_credits",
			Balance: b.Amount.String(), Available: b.Available().String()})
		return
	}
	s.metrics.authorizeHeld.Inc()
	writeJSON(w, http.StatusOK, authorizeResponse{Allowed: true, Balance: b.Amount.String(), Available: b.Available().String(),
		HoldID: h.ID.String(), ExpiresAt: &h.ExpiresAt})
}

// usageEvent is one event of POST /v1/usage; a missing count means zero.
type usageEvent struct {
	ID                string `json:"id"`
	WorkspaceID       string `json:"workspace_id"`
	Model             string `json:"model"`
	InputTokens       int64  `json:"input_tokens"`
	OutputTokens      int64  `json:"output_tokens"`
	CachedInputTokens int64  `json:"cached_input_tokens"`
	Traces            int64  `json:"traces"`
	// OccurredAt is decoded after the rest (decodeTime), so that a bad
	// time does not stop the id from being read.
	OccurredAt json.RawMessage `json:"occurred_at"`
	RequestID  string          `json:"request_id"`
	HoldID     string          `json:"hold_id"`
}

// usage ingests a batch. An event that does not decode (wrong types) is
// rejected on its own; a body that is not JSON at all is a 400. 200 means
// every accepted event is committed.
func (s *Server) usage(w http.ResponseWriter, r *http.Request) {
	events, err := decodeUsage(r.Body, s.deps.Billing.Config().MaxBatch)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, errTooManyEvents):
		writeError(w, codeTooLarge, err.Error())
		return
	case err != nil:
		writeError(w, codeBadUserInput, err.Error())
		return
	}
	res, err := s.deps.Billing.IngestUsage(r.Context(), events)
	if err != nil {
		s.writeFailure(w, "ingest usage", err)
		return
	}
	s.metrics.usage.WithLabelValues("accepted").Add(float64(res.Accepted))
	s.metrics.usage.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	s.metrics.usage.WithLabelValues("rejected").Add(float64(len(res.Rejected)))
	writeJSON(w, http.StatusOK, res)
}

var errTooManyEvents = errors.New("too many events in one batch")

// decodeUsage reads a POST /v1/usage body. A body that is not
// {"events": [...]} is an error; an event that does not decode (wrong
// types) becomes an event carrying DecodeError, rejected in its place.
//
// It streams: each event is decoded straight from the body, once, and a
// batch is refused as soon as it passes maxEvents. Decoding the body into
// raw events first and each event again cost twice the scanning, and was
// most of the server's CPU under ingestion (docs/performance.md).
func decodeUsage(body io.Reader, maxEvents int) ([]billing.UsageEvent, error) {
	dec := json.NewDecoder(body)
	events, err := decodeUsageStream(dec, maxEvents)
	if err == nil || errors.Is(err, errTooManyEvents) || errors.Is(err, errNoEvents) {
		return events, err
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fmt.Errorf("request body is too large: %w", err)
	}
	return nil, errors.New(`body must be JSON: {"events": [...]}`)
}

var errNoEvents = errors.New("events is required")

func decodeUsageStream(dec *json.Decoder, maxEvents int) ([]billing.UsageEvent, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil { // a JSON null body, as an empty object
		return nil, errNoEvents
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var events []billing.UsageEvent
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		// encoding/json matches field names case-insensitively; so does this.
		if key, _ := tok.(string); !strings.EqualFold(key, "events") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		// As with encoding/json, the last "events" wins.
		if events, err = decodeEventArray(dec, maxEvents); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if events == nil {
		return nil, errNoEvents
	}
	return events, nil
}

// decodeEventArray reads the value of "events": an array of events, or
// null (no events).
func decodeEventArray(dec *json.Decoder, maxEvents int) ([]billing.UsageEvent, error) {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, errors.New("events is not an array")
	}
	events := make([]billing.UsageEvent, 0, min(maxEvents, 128))
	for dec.More() {
		if len(events) == maxEvents {
			return nil, errTooManyEvents
		}
		var ev usageEvent
		err := dec.Decode(&ev)
		var typeErr *json.UnmarshalTypeError
		if err != nil && !errors.As(err, &typeErr) {
			return nil, err // the body itself is broken or unreadable: no event can be trusted
		}
		var at time.Time
		if timeErr := decodeTime(ev.OccurredAt, &at); timeErr != nil {
			err = timeErr // as encoding/json reports it: the time's error wins
		}
		if err != nil {
			events = append(events, billing.UsageEvent{ID: ev.ID, DecodeError: "event does not decode: " + decodeProblem(err)})
			continue
		}
		events = append(events, billing.UsageEvent{ID: ev.ID, WorkspaceID: ev.WorkspaceID, Model: ev.Model,
			InputTokens: ev.InputTokens, OutputTokens: ev.OutputTokens, CachedInputTokens: ev.CachedInputTokens,
			Traces: ev.Traces, OccurredAt: at, RequestID: ev.RequestID, HoldID: ev.HoldID})
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, err
	}
	return events, nil
}

// decodeTime decodes occurred_at as time.Time's own JSON decoding does
// (absent or null is the zero time).
func decodeTime(raw json.RawMessage, into *time.Time) error {
	if len(raw) == 0 {
		return nil
	}
	return into.UnmarshalJSON(raw)
}

func decodeProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return typeErr.Field + " must be " + typeErr.Type.String()
	}
	var timeErr *time.ParseError
	if errors.As(err, &timeErr) {
		return "occurred_at must be an RFC 3339 time"
	}
	return "malformed event"
}
