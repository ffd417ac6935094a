package graph

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// GraphQL over HTTP (the spec's status codes, checked by graphql-http's
// audit): with application/json every well-formed request answers 200, its
// errors in the body; with application/graphql-response+json a request
// that never executed (parse, validation, variable coercion, size) answers
// 400, and in both a request error carries no "data" key. gqlgen answers
// 422 and writes "data":null, so its answer is adjusted on the way out.
// Two refusals are about the caller, not the document, and keep their HTTP
// meaning on both media types where it helps a client: 429 with Retry-After
// when a token's mutation budget is spent (the spec lets a server refuse a
// request for reasons outside GraphQL), and 401 for an anonymous request
// asking for more than introspection (application/graphql-response+json
// only; application/json stays 200 as before).

type refusal int

const (
	refusalNone refusal = iota
	refusalUnauthenticated
	refusalRateLimited
)

// outcome is what the GraphQL layer decided about one HTTP request that
// the status line must reflect.
type outcome struct {
	refusal    refusal
	retryAfter time.Duration
}

type outcomeKey struct{}

func refuse(ctx context.Context, r refusal) {
	if o, ok := ctx.Value(outcomeKey{}).(*outcome); ok {
		o.refusal = r
	}
}

func refuseRateLimited(ctx context.Context, wait time.Duration) {
	if o, ok := ctx.Value(outcomeKey{}).(*outcome); ok {
		o.refusal, o.retryAfter = refusalRateLimited, wait
	}
}

// withHTTPStatus wraps the POST and GET transports' answers.
func withHTTPStatus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		o := &outcome{}
		sw := &statusWriter{ResponseWriter: w, o: o}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), outcomeKey{}, o)))
		if !sw.wrote && sw.status != 0 {
			w.WriteHeader(sw.status)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	o      *outcome
	status int // what gqlgen asked for
	wrote  bool
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
	}
}

// Write sees gqlgen's one write of the whole answer.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.wrote {
		return w.ResponseWriter.Write(b)
	}
	w.wrote = true
	status, requestError := w.decide()
	out := b
	if requestError {
		out = withoutNullData(b)
	}
	w.ResponseWriter.WriteHeader(status)
	if _, err := w.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// decide returns the status to send and whether the answer is a request
// error (nothing executed, so no "data" key).
func (w *statusWriter) decide() (int, bool) {
	media, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	graphqlResponse := media == "application/graphql-response+json"
	switch w.o.refusal {
	case refusalRateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((w.o.retryAfter+time.Second-1)/time.Second))))
		return http.StatusTooManyRequests, true
	case refusalUnauthenticated:
		if graphqlResponse {
			w.Header().Set("WWW-Authenticate", "Bearer")
			return http.StatusUnauthorized, true
		}
		return http.StatusOK, true
	}
	switch {
	case w.status == 0 || w.status == http.StatusOK:
		return http.StatusOK, false
	case w.status == http.StatusUnprocessableEntity: // gqlgen's parse/validation failure
		if graphqlResponse {
			return http.StatusBadRequest, true
		}
		return http.StatusOK, true
	default:
		return w.status, w.status >= 400
	}
}

// withoutNullData drops "data": null from a JSON object.
func withoutNullData(b []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	if d, ok := m["data"]; !ok || string(d) != "null" {
		return b
	}
	delete(m, "data")
	out, err := json.Marshal(m)
	if err != nil {
		return b
	}
	return out
}
