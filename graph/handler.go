package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/graph/generated"
	"github.com/airouter/credits/graph/scalar"
)

// Limits bound what one GraphQL request, connection and token may ask for.
// A zero field takes its value from DefaultLimits.
type Limits struct {
	MaxComplexity int  // gqlgen's complexity (1 per field by default)
	MaxDepth      int  // nesting of selection sets; introspection fields are exempt
	Introspection bool // allow __schema / __type queries

	// Checked on the parsed document before validation, whose cost grows
	// faster than the document (see documentGuard). They also bound
	// introspection, which the depth limit does not.
	MaxTokens     int // parser tokens
	MaxSelections int // fields, fragment spreads and inline fragments as written
	MaxAliases    int // aliased fields
	MaxFragments  int // fragment definitions

	SubscriptionsPerSocket int           // open subscriptions on one WebSocket
	SocketsPerToken        int           // open WebSockets per token, on this instance
	TokenRecheck           time.Duration // how often open sockets' tokens are checked again

	// Mutations per token, on every transport (negative rate: no limit).
	MutationsPerSecond float64
	MutationBurst      int
}

// DefaultLimits suit the Credits page with room to spare: its largest
// operation has under 200 tokens and 60 selections; graphql-js's
// getIntrospectionQuery() has about 300 tokens and 100 selections. At 300
// selections the slowest validation (one field repeated) costs about 15 ms.
var DefaultLimits = Limits{MaxComplexity: 500, MaxDepth: 10, Introspection: true,
	MaxTokens: 2000, MaxSelections: 300, MaxAliases: 100, MaxFragments: 50,
	SubscriptionsPerSocket: 20, SocketsPerToken: 20, TokenRecheck: time.Second,
	MutationsPerSecond: 5, MutationBurst: 20}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	for _, f := range []struct{ v, def *int }{
		{&l.MaxComplexity, &d.MaxComplexity}, {&l.MaxDepth, &d.MaxDepth}, {&l.MaxTokens, &d.MaxTokens},
		{&l.MaxSelections, &d.MaxSelections}, {&l.MaxAliases, &d.MaxAliases}, {&l.MaxFragments, &d.MaxFragments},
		{&l.SubscriptionsPerSocket, &d.SubscriptionsPerSocket}, {&l.SocketsPerToken, &d.SocketsPerToken},
		{&l.MutationBurst, &d.MutationBurst},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if l.TokenRecheck <= 0 {
		l.TokenRecheck = d.TokenRecheck
	}
	if l.MutationsPerSecond == 0 {
		l.MutationsPerSecond = d.MutationsPerSecond
	}
	return l
}

// Authenticate resolves a raw bearer token to a caller (for WebSocket
// connection_init, where there are no HTTP headers to read).
type Authenticate func(ctx context.Context, rawToken string) (auth.Caller, error)

// NewHandler returns the GraphQL HTTP handler (POST, GET, WebSocket).
func NewHandler(r *Resolver, limits Limits, authenticate Authenticate) http.Handler {
	limits = limits.withDefaults()
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: r}))
	socks := newSockets(authenticate, limits, r.Log)
	payloadLimit := int64(64 << 10) // a subscribe message is a small document
	// WebSocket first: it must see the Upgrade request before the others.
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		InitTimeout:           10 * time.Second,
		PayloadReadLimit:      &payloadLimit,
		// Any origin may connect: the token travels in connection_init, not
		// in a cookie, so a foreign page cannot ride on a user's session.
		Implementation: acceptHook{transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{InsecureSkipVerify: true}}},
		InitFunc:       socks.init,
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	cache := lru.New[*ast.QueryDocument](1000)
	srv.SetQueryCache(cache)
	srv.SetParserTokenLimit(limits.MaxTokens)
	srv.Use(documentGuard{limits: limits, cached: cache.Get})
	if limits.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.FixedComplexityLimit(limits.MaxComplexity))
	srv.Use(depthLimit{max: limits.MaxDepth})
	srv.Use(socks)
	if limits.MutationsPerSecond > 0 {
		srv.Use(newMutationLimit(limits.MutationsPerSecond, limits.MutationBurst))
	}
	srv.SetErrorPresenter(presentError(r.Log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		r.Log.Error("graphql resolver panic", "panic", fmt.Sprint(p))
		return errors.New("internal error")
	})
	return socks.track(withHTTPStatus(srv))
}

// presentError maps errors, once, to extensions.code. Only billing's and
// auth's own errors reach the client with their message; anything else is
// logged and answered as INTERNAL, so ent and Stripe details never leak.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		var berr *billing.Error
		switch {
		case errors.As(err, &berr):
			gerr.Message = berr.Message
			gerr.Extensions["code"] = string(berr.Code)
			if berr.Field != "" {
				gerr.Extensions["field"] = berr.Field
			}
		case errors.Is(err, auth.ErrUnauthenticated):
			gerr.Message = auth.ErrUnauthenticated.Error()
			gerr.Extensions["code"] = "UNAUTHENTICATED"
		case errors.Is(err, auth.ErrForbidden):
			gerr.Message = auth.ErrForbidden.Error()
			gerr.Extensions["code"] = "FORBIDDEN"
		case gerr.Extensions["code"] != nil:
			// gqlgen's own validation and parse errors already carry a code.
		case errors.As(err, new(*scalar.InputError)):
			gerr.Extensions["code"] = "BAD_USER_INPUT"
		case gerr.Err == nil && len(gerr.Path) == 0:
			// gqlgen's own request errors (a body that does not decode, a
			// batched array): the request is wrong, nothing failed inside.
			gerr.Extensions["code"] = "BAD_USER_INPUT"
		default:
			log.Error("graphql internal error", "path", gerr.Path.String(), "err", err)
			gerr.Message = "internal error"
			gerr.Extensions["code"] = "INTERNAL"
		}
		return gerr
	}
}

// depthLimit refuses operations nested deeper than max.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || d.max <= 0 {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, oc.Doc.Fragments, 0); depth > d.max {
		err := gqlerror.Errorf("operation is nested %d levels deep; the limit is %d", depth, d.max)
		err.Extensions = map[string]any{"code": "BAD_USER_INPUT"}
		return err
	}
	return nil
}

func selectionDepth(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen int) int {
	if seen > 64 { // fragment cycles are rejected by validation; this is a guard
		return seen
	}
	max := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			// Introspection is bounded by the document caps instead:
			// graphql-js's standard query nests 15 levels (ofType chains).
			if len(s.SelectionSet) == 0 || isIntrospectionField(s.Name) {
				d = 1
			} else {
				d = 1 + selectionDepth(s.SelectionSet, frags, seen+1)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, frags, seen+1)
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil {
				d = selectionDepth(f.SelectionSet, frags, seen+1)
			}
		}
		if d > max {
			max = d
		}
	}
	return max
}
