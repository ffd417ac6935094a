// Package auth owns bearer tokens and the caller they identify: issuing
// (random, shown once), storing (SHA-256 hash only), checking, revoking, and
// carrying the caller in a context. It does not decide what a role may do
// beyond the helpers here; handlers and resolvers ask it.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/token"
)

// Role is what a token may do.
type Role string

const (
	// RoleOwner may do everything in its workspace.
	RoleOwner Role = "owner"
	// RoleMember may read and subscribe in its workspace.
	RoleMember Role = "member"
	// RoleService is the router: /v1/* for any workspace, nothing else.
	RoleService Role = "service"
)

// ParseRole accepts "owner", "member" or "service".
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOwner, RoleMember, RoleService:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want owner, member or service)", s)
}

// Caller is who made a request.
type Caller struct {
	TokenID     uuid.UUID
	WorkspaceID uuid.UUID // uuid.Nil for service tokens
	Role        Role
}

// CanWrite reports whether the caller may change its workspace's data.
func (c Caller) CanWrite() bool { return c.Role == RoleOwner }

// CanRead reports whether the caller may read its workspace's data.
func (c Caller) CanRead() bool { return c.Role == RoleOwner || c.Role == RoleMember }

var (
	// ErrUnauthenticated means no token, or one that is unknown, revoked or expired.
	ErrUnauthenticated = errors.New("a valid bearer token is required")
	// ErrForbidden means the token is valid but its role may not do this.
	ErrForbidden = errors.New("this token's role may not do that")
	// ErrTokenRevoked is ErrUnauthenticated (same message, errors.Is
	// matches both) for a token that exists but was revoked or has
	// expired: an open WebSocket closes with 4403 rather than 4401.
	ErrTokenRevoked error = revokedError{}
)

type revokedError struct{}

func (revokedError) Error() string        { return ErrUnauthenticated.Error() }
func (revokedError) Is(target error) bool { return target == ErrUnauthenticated }

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller in ctx, if any.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// tokenPrefix marks our tokens so secret scanners can find leaked ones.
const tokenPrefix = "cr_"

// Tokens issues and checks bearer tokens.
type Tokens struct {
	ent *ent.Client
	now func() time.Time
	// CacheTTL keeps a checked token's caller in memory this long, so the
	// router's hot path (/v1/authorize) does not read the database per
	// request. It bounds how long a token revoked on another instance keeps
	// working; revoking on this instance takes effect at once.
	CacheTTL time.Duration

	mu      sync.RWMutex
	cache   map[[sha256.Size]byte]cachedCaller // by token hash
	lookups singleflight.Group                 // one database read per token at a time
	reads   atomic.Int64                       // database reads, for tests
	// revocations counts Revoke calls: a read that began before one must
	// not cache what it read, the token may be the one just revoked.
	revocations int64
	// afterQuery runs in read between the query and its use; tests hold a
	// read there.
	afterQuery func()
}

type cachedCaller struct {
	caller Caller
	// refreshAt is when one request starts re-reading the token in the
	// background, before until: a busy token (the router's) never expires
	// under load, where every request in flight would miss at once.
	refreshAt time.Time
	until     time.Time // cache expiry
	expires   *time.Time
}

// DefaultCacheTTL is how long a token check is cached.
const DefaultCacheTTL = 5 * time.Second

// NewTokens returns the token store over client.
func NewTokens(client *ent.Client) *Tokens {
	return &Tokens{ent: client, now: time.Now, CacheTTL: DefaultCacheTTL, cache: map[[sha256.Size]byte]cachedCaller{}}
}

// Create issues a token. workspaceID must be set for owner and member and
// uuid.Nil for service. The raw token is returned once and never stored.
func (t *Tokens) Create(ctx context.Context, workspaceID uuid.UUID, role Role, expiresAt *time.Time) (raw string, id uuid.UUID, err error) {
	if (role == RoleService) != (workspaceID == uuid.Nil) {
		return "", uuid.Nil, fmt.Errorf("a %s token needs %s", role, map[bool]string{true: "no workspace", false: "a workspace"}[role == RoleService])
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", uuid.Nil, fmt.Errorf("generate token: %w", err)
	}
	raw = tokenPrefix + base64.RawURLEncoding.EncodeToString(buf)
	create := t.ent.Token.Create().SetRole(token.Role(role)).SetHash(Hash(raw)).SetNillableExpiresAt(expiresAt)
	if workspaceID != uuid.Nil {
		create.SetWorkspaceID(workspaceID)
	}
	tok, err := create.Save(ctx)
	if err != nil {
		return "", uuid.Nil, fmt.Errorf("store token: %w", err)
	}
	return raw, tok.ID, nil
}

// Hash is how a token is stored: hex SHA-256. A token has 256 random bits,
// so a fast hash is enough (no password stretching needed), and lookups by
// hash compare no secret byte by byte in our code.
func Hash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the caller a raw token identifies, or ErrUnauthenticated.
func (t *Tokens) Authenticate(ctx context.Context, raw string) (Caller, error) {
	if !strings.HasPrefix(raw, tokenPrefix) || len(raw) > 128 {
		return Caller{}, ErrUnauthenticated
	}
	key := sha256.Sum256([]byte(raw))
	now := t.now()
	t.mu.RLock()
	hit, ok := t.cache[key]
	t.mu.RUnlock()
	if ok && now.Before(hit.until) && (hit.expires == nil || now.Before(*hit.expires)) {
		if !now.Before(hit.refreshAt) {
			t.refreshAhead(key)
		}
		return hit.caller, nil
	}
	// Concurrent misses of one token share one read. It must not end with
	// the first caller's request, which the others do not belong to.
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	t.mu.RLock()
	known := t.revocations
	t.mu.RUnlock()
	for {
		v, err, _ := t.lookups.Do(string(key[:]), func() (any, error) { return t.read(readCtx, key) })
		if err != nil {
			return Caller{}, err
		}
		// A shared read that began before a revocation this request
		// follows may have found the token still valid (seen: a request
		// right after Revoke returned joined a refresh in flight and was
		// let in). Read again, in a read of its own or one begun since.
		if r := v.(tokenRead); r.revocations >= known {
			return r.caller, nil
		}
		t.lookups.Forget(string(key[:]))
	}
}

// tokenRead is what one database read of a token found, and how many
// revocations this instance had made when it began.
type tokenRead struct {
	caller      Caller
	revocations int64
}

// refreshAhead re-reads a cached token in the background, once: the
// first request past refreshAt claims the refresh by moving refreshAt to
// the expiry, the others keep using the cached caller meanwhile.
func (t *Tokens) refreshAhead(key [sha256.Size]byte) {
	t.mu.Lock()
	e, ok := t.cache[key]
	claimed := ok && !t.now().Before(e.refreshAt)
	if claimed {
		e.refreshAt = e.until
		t.cache[key] = e
	}
	t.mu.Unlock()
	if !claimed {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// A failed refresh leaves the entry to expire; the next request
		// then reads the token itself and reports the error.
		t.lookups.Do(string(key[:]), func() (any, error) { return t.read(ctx, key) }) //nolint:errcheck
	}()
}

// read looks a token up by hash and caches the answer: a valid token's
// caller, or, for a revoked, expired or unknown one, nothing (and no entry).
func (t *Tokens) read(ctx context.Context, key [sha256.Size]byte) (tokenRead, error) {
	t.reads.Add(1)
	t.mu.RLock()
	revocations := t.revocations
	t.mu.RUnlock()
	hash := hex.EncodeToString(key[:])
	tok, err := t.ent.Token.Query().Where(token.Hash(hash)).Only(ctx)
	if t.afterQuery != nil {
		t.afterQuery()
	}
	if ent.IsNotFound(err) {
		t.forget(key)
		return tokenRead{}, ErrUnauthenticated
	}
	if err != nil {
		return tokenRead{}, fmt.Errorf("look up token: %w", err)
	}
	// The index lookup found the row by hash; compare again in constant
	// time so no code path of ours branches on secret bytes.
	if subtle.ConstantTimeCompare([]byte(tok.Hash), []byte(hash)) != 1 {
		return tokenRead{}, ErrUnauthenticated
	}
	now := t.now()
	if tok.RevokedAt != nil || (tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt)) {
		t.forget(key)
		return tokenRead{}, ErrTokenRevoked
	}
	c := Caller{TokenID: tok.ID, Role: Role(tok.Role)}
	if tok.WorkspaceID != nil {
		c.WorkspaceID = *tok.WorkspaceID
	}
	if t.CacheTTL > 0 {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.revocations != revocations {
			return tokenRead{c, revocations}, nil
		}
		if len(t.cache) > 100_000 { // bounded: forget everything rather than grow
			t.cache = map[[sha256.Size]byte]cachedCaller{}
		}
		t.cache[key] = cachedCaller{caller: c, refreshAt: now.Add(t.CacheTTL * 3 / 4), until: now.Add(t.CacheTTL), expires: tok.ExpiresAt}
	}
	return tokenRead{c, revocations}, nil
}

func (t *Tokens) forget(key [sha256.Size]byte) {
	t.mu.Lock()
	delete(t.cache, key)
	t.mu.Unlock()
}

// Revoke makes a token unusable from now on.
func (t *Tokens) Revoke(ctx context.Context, id uuid.UUID) error {
	n, err := t.ent.Token.Update().Where(token.ID(id), token.RevokedAtIsNil()).SetRevokedAt(t.now()).Save(ctx)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("token %s not found or already revoked", id)
	}
	t.mu.Lock()
	t.revocations++
	for h, c := range t.cache {
		if c.caller.TokenID == id {
			delete(t.cache, h)
		}
	}
	t.mu.Unlock()
	return nil
}

// FromHeader extracts the token from an Authorization header value.
func FromHeader(h string) (string, bool) {
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(h[len(scheme):]), true
}
