package graph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/time/rate"

	"github.com/airouter/credits/auth"
)

// CodeRateLimited is errors[0].extensions.code of a mutation refused by
// the per-token limit (HTTP answers 429 with Retry-After as well).
const CodeRateLimited = "RATE_LIMITED"

// mutationLimit is a token bucket per bearer token for GraphQL mutations
// (purchases, card changes), whatever the transport, so a stolen or buggy
// client cannot hammer the card processor over HTTP or a WebSocket. Per
// instance; with N instances the effective limit is N×.
type mutationLimit struct {
	every rate.Limit
	burst int

	mu       sync.Mutex
	limiters map[uuid.UUID]*rate.Limiter
}

func newMutationLimit(perSecond float64, burst int) *mutationLimit {
	return &mutationLimit{every: rate.Limit(perSecond), burst: burst, limiters: map[uuid.UUID]*rate.Limiter{}}
}

// take spends one mutation of token's budget; when none is left it
// returns how long until one is.
func (l *mutationLimit) take(token uuid.UUID, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	lim, found := l.limiters[token]
	if !found {
		if len(l.limiters) >= 100_000 { // forget idle callers rather than grow without bound
			l.limiters = map[uuid.UUID]*rate.Limiter{}
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.limiters[token] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = (*mutationLimit)(nil)

func (*mutationLimit) ExtensionName() string                   { return "MutationLimit" }
func (*mutationLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l *mutationLimit) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx).Operation
	c, ok := auth.CallerFrom(ctx)
	if !ok || op == nil || op.Operation != ast.Mutation {
		return next(ctx)
	}
	if allowed, wait := l.take(c.TokenID, time.Now()); !allowed {
		refuseRateLimited(ctx, wait)
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    fmt.Sprintf("too many mutations for this token; retry in %s", wait.Round(time.Millisecond)),
			Extensions: map[string]any{"code": CodeRateLimited, "retryAfterSeconds": wait.Seconds()},
		}}})
	}
	return next(ctx)
}
