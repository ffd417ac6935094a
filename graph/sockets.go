package graph

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/airouter/credits/auth"
)

// graphql-transport-ws close codes the clients act on: 4401 and 4403 end
// the reference client's retries (4401 at once, 4403 after its bounded
// retries) and surface as an error, where 1000 makes it reconnect.
const (
	CloseUnauthorized = 4401 // no token, or one that is not ours
	CloseForbidden    = 4403 // a role that may not read, a token revoked or expired, too many sockets
	CloseBadRequest   = 4400 // kept subscribing past the cap after being told
)

// CodeTooManySubscriptions is the error code of a subscription over the
// per-socket cap.
const CodeTooManySubscriptions = "TOO_MANY_SUBSCRIPTIONS"

// socket is one WebSocket connection's state: its token (re-checked), its
// connection (to close with a protocol code) and its subscriptions.
type socket struct {
	raw     string
	caller  auth.Caller
	subs    atomic.Int32
	refused atomic.Int32 // subscriptions refused over the cap

	mu     sync.Mutex
	conn   transport.WebsocketConn
	closed bool
}

type socketKey struct{}

func socketFrom(ctx context.Context) *socket {
	s, _ := ctx.Value(socketKey{}).(*socket)
	return s
}

// close ends the connection with a graphql-transport-ws close code; gqlgen
// then sees the read fail and cancels the socket's operations.
func (s *socket) close(code int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.conn == nil {
		return
	}
	s.closed = true
	_ = s.conn.WriteClose(code, reason)
}

// sockets tracks the open, authenticated sockets: at most perToken per
// token, and every recheck each token is checked again (auth.Tokens'
// cache makes that a map read until the entry is due), so a revoked or
// expired token's sockets close with 4403 within the cache's TTL plus one
// recheck interval.
type sockets struct {
	authenticate Authenticate
	perToken     int
	perSocket    int
	recheck      time.Duration
	log          *slog.Logger

	mu       sync.Mutex
	byToken  map[uuid.UUID]map[*socket]struct{}
	watching bool
}

func newSockets(authenticate Authenticate, l Limits, log *slog.Logger) *sockets {
	return &sockets{authenticate: authenticate, perToken: l.SocketsPerToken, perSocket: l.SubscriptionsPerSocket,
		recheck: l.TokenRecheck, log: log, byToken: map[uuid.UUID]map[*socket]struct{}{}}
}

// track wraps the GraphQL handler: an upgrade request carries a socket
// that the accept hook and InitFunc fill in, and is forgotten when gqlgen's
// read loop returns (the connection is over).
func (ss *sockets) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(w, r)
			return
		}
		s := &socket{}
		defer ss.remove(s)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), socketKey{}, s)))
	})
}

// acceptHook gives the socket its connection.
type acceptHook struct {
	transport.WebsocketImplementation
}

func (a acceptHook) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := a.WebsocketImplementation.Accept(w, r, o)
	if err == nil {
		if s := socketFrom(r.Context()); s != nil {
			s.mu.Lock()
			s.conn = conn
			s.mu.Unlock()
		}
	}
	return conn, err
}

// init is the transport's InitFunc: the token from connection_init, the
// role, the per-token cap. A refusal closes with 4401 or 4403.
func (ss *sockets) init(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	s := socketFrom(ctx)
	raw, ok := auth.FromHeader(payload.Authorization())
	if !ok || s == nil {
		return closeWith(ctx, CloseUnauthorized, "Unauthorized"), nil, auth.ErrUnauthenticated
	}
	c, err := ss.authenticate(ctx, raw)
	switch {
	case errors.Is(err, auth.ErrTokenRevoked):
		return closeWith(ctx, CloseForbidden, "Forbidden: token revoked or expired"), nil, auth.ErrUnauthenticated
	case err != nil:
		return closeWith(ctx, CloseUnauthorized, "Unauthorized"), nil, auth.ErrUnauthenticated
	case !c.CanRead():
		return closeWith(ctx, CloseForbidden, "Forbidden"), nil, auth.ErrForbidden
	}
	s.raw, s.caller = raw, c
	if !ss.add(s) {
		return closeWith(ctx, CloseForbidden, "Forbidden: too many connections for this token"), nil, errTooManySockets
	}
	return auth.WithCaller(ctx, c), nil, nil
}

var errTooManySockets = errors.New("too many connections for this token")

func closeWith(ctx context.Context, code int, reason string) context.Context {
	return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, code), reason)
}

func (ss *sockets) add(s *socket) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	set := ss.byToken[s.caller.TokenID]
	if len(set) >= ss.perToken {
		return false
	}
	if set == nil {
		set = map[*socket]struct{}{}
		ss.byToken[s.caller.TokenID] = set
	}
	set[s] = struct{}{}
	if !ss.watching {
		ss.watching = true
		go ss.watch()
	}
	return true
}

func (ss *sockets) remove(s *socket) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	set := ss.byToken[s.caller.TokenID]
	delete(set, s)
	if len(set) == 0 {
		delete(ss.byToken, s.caller.TokenID)
	}
}

// watch re-checks every open socket's token each interval; it runs while
// any socket is open, so an idle server keeps no goroutine for it.
func (ss *sockets) watch() {
	t := time.NewTicker(ss.recheck)
	defer t.Stop()
	for range t.C {
		ss.mu.Lock()
		if len(ss.byToken) == 0 {
			ss.watching = false
			ss.mu.Unlock()
			return
		}
		type tokenSockets struct {
			raw   string
			socks []*socket
		}
		snapshot := make([]tokenSockets, 0, len(ss.byToken))
		for _, set := range ss.byToken {
			var ts tokenSockets
			for s := range set {
				ts.raw = s.raw
				ts.socks = append(ts.socks, s)
			}
			snapshot = append(snapshot, ts)
		}
		ss.mu.Unlock()
		for _, ts := range snapshot {
			if !ss.stillValid(ts.raw) {
				for _, s := range ts.socks {
					s.close(CloseForbidden, "Forbidden: token revoked or expired")
				}
			}
		}
	}
}

// stillValid re-checks a token; a database that does not answer keeps the
// sockets open (the next check tries again).
func (ss *sockets) stillValid(raw string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := ss.authenticate(ctx, raw)
	if err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
		ss.log.Warn("re-check a socket's token", "err", err)
		return true
	}
	return err == nil
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = (*sockets)(nil)

func (*sockets) ExtensionName() string                   { return "SocketLimits" }
func (*sockets) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation re-checks the token of every operation sent on a
// socket and caps the socket's open subscriptions.
func (ss *sockets) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	s := socketFrom(ctx)
	if s == nil || s.raw == "" {
		return next(ctx)
	}
	if !ss.stillValid(s.raw) {
		s.close(CloseForbidden, "Forbidden: token revoked or expired")
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{Message: auth.ErrUnauthenticated.Error(),
			Extensions: map[string]any{"code": codeUnauthenticated}}}})
	}
	op := graphql.GetOperationContext(ctx).Operation
	if op == nil || op.Operation != ast.Subscription {
		return next(ctx)
	}
	if n := s.subs.Add(1); int(n) > ss.perSocket {
		s.subs.Add(-1)
		// A client that keeps subscribing after as many refusals as the cap
		// is flooding: each refusal still costs a goroutine and a write, so
		// the connection ends (4400 is fatal for graphql-ws: no retry).
		if int(s.refused.Add(1)) > ss.perSocket {
			s.close(CloseBadRequest, "Bad request: too many subscriptions on this connection")
		}
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    "too many subscriptions on this connection",
			Extensions: map[string]any{"code": CodeTooManySubscriptions, "limit": ss.perSocket},
		}}})
	}
	// The operation's context ends with the subscription (complete, client
	// gone, socket closed).
	context.AfterFunc(ctx, func() { s.subs.Add(-1) })
	return next(ctx)
}
