package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The router's and the SPA's hot paths through the whole handler stack
// (metrics, auth, routing, handler), in process: what one request costs the
// server, without the network or a load generator. `go test -run '^$'
// -bench HotPath -benchmem ./server`.

func BenchmarkHotPath_Authorize(b *testing.B) {
	e := newEnv(b)
	ws, _ := e.workspace("1000")
	body := []byte(`{"workspace_id":"` + ws.String() + `"}`)
	serveBench(b, e.handler, "/v1/authorize", e.service, body, `"allowed":true`)
}

func BenchmarkHotPath_GraphQLBalance(b *testing.B) {
	e := newEnv(b)
	_, owner := e.workspace("1000")
	serveBench(b, e.handler, "/graphql", owner, []byte(`{"query":"{ balance { amount blocked } }"}`), `"amount"`)
}

func serveBench(b *testing.B, h http.Handler, path, token string, body []byte, want string) {
	b.Helper()
	do := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do(); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
		b.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		do()
	}
}
