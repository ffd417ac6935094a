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

// Limits bound what one GraphQL request may ask for.
type Limits struct {
	MaxComplexity int  // gqlgen's complexity (1 per field by default)
	MaxDepth      int  // nesting of selection sets
	Introspection bool // allow __schema / __type queries
}

// DefaultLimits suit the Credits page with room to spare.
var DefaultLimits = Limits{MaxComplexity: 500, MaxDepth: 10, Introspection: true}

// Authenticate resolves a raw bearer token to a caller (for WebSocket
// connection_init, where there are no HTTP headers to read).
type Authenticate func(ctx context.Context, rawToken string) (auth.Caller, error)

// NewHandler returns the GraphQL HTTP handler (POST, GET, WebSocket).
func NewHandler(r *Resolver, limits Limits, authenticate Authenticate) http.Handler {
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: r}))
	// WebSocket first: it must see the Upgrade request before the others.
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		// Any origin may connect: the token travels in connection_init, not
		// in a cookie, so a foreign page cannot ride on a user's session.
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{InsecureSkipVerify: true}},
		InitFunc: func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			raw, ok := auth.FromHeader(payload.Authorization())
			if !ok {
				return ctx, nil, auth.ErrUnauthenticated
			}
			c, err := authenticate(ctx, raw)
			if err != nil {
				return ctx, nil, auth.ErrUnauthenticated
			}
			if !c.CanRead() {
				return ctx, nil, auth.ErrForbidden
			}
			return auth.WithCaller(ctx, c), nil, nil
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if limits.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.FixedComplexityLimit(limits.MaxComplexity))
	srv.Use(depthLimit{max: limits.MaxDepth})
	srv.SetErrorPresenter(presentError(r.Log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		r.Log.Error("graphql resolver panic", "panic", fmt.Sprint(p))
		return errors.New("internal error")
	})
	return srv
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
			if len(s.SelectionSet) == 0 {
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
