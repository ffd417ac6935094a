package server

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/airouter/credits/auth"
)

// mutationLimiter is a token bucket per bearer token for GraphQL mutations
// (purchases, card changes): a stolen or buggy client cannot hammer the
// card processor. Per instance; with N instances the effective limit is N×.
type mutationLimiter struct {
	rate  float64 // tokens per second
	burst float64

	mu      sync.Mutex
	buckets map[uuid.UUID]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newMutationLimiter(perSecond float64, burst int) *mutationLimiter {
	return &mutationLimiter{rate: perSecond, burst: float64(burst), buckets: map[uuid.UUID]*bucket{}}
}

// take spends one token; when none is left it returns how long to wait.
func (l *mutationLimiter) take(id uuid.UUID, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, found := l.buckets[id]
	if !found {
		if len(l.buckets) > 100_000 { // forget idle callers rather than grow without bound
			l.buckets = map[uuid.UUID]*bucket{}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[id] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// limitMutations answers 429 with Retry-After when a caller's GraphQL
// mutation exceeds its budget. Queries and subscriptions are not limited.
func (s *Server) limitMutations(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := auth.CallerFrom(r.Context())
		if !ok || r.Method != http.MethodPost || s.limiter == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, codeTooLarge, "request body is too large")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if isMutation(body) {
			if allowed, wait := s.limiter.take(c.TokenID, time.Now()); !allowed {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				writeError(w, codeRateLimited, "too many mutations; retry later")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isMutation reports whether a GraphQL POST body runs a mutation. A body
// that does not parse is left for the GraphQL handler to refuse.
func isMutation(body []byte) bool {
	var req struct {
		Query         string `json:"query"`
		OperationName string `json:"operationName"`
	}
	if json.Unmarshal(body, &req) != nil {
		return false
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		return false
	}
	for _, op := range doc.Operations {
		if op.Operation == ast.Mutation && (req.OperationName == "" || op.Name == req.OperationName) {
			return true
		}
	}
	return false
}
