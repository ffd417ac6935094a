package auth_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.DropTemplates()
	os.Exit(code)
}

func TestTokens_CachedChecksStillHonourRevocationAndExpiry(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	var ws uuid.UUID
	if err := db.SQL.QueryRow(`INSERT INTO workspaces (id, name, plan_id, balance, held, balance_version, balance_updated_at, created_at)
		VALUES (gen_random_uuid(), 't', 'free', 0, 0, 0, now(), now()) RETURNING id`).Scan(&ws); err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(db.Ent)
	raw, id, err := tokens.Create(ctx, ws, auth.RoleOwner, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tokens.Authenticate(ctx, raw)
	if err != nil || c.WorkspaceID != ws || c.Role != auth.RoleOwner {
		t.Fatalf("authenticate: %+v %v", c, err)
	}
	var stored string
	if err := db.SQL.QueryRow(`SELECT hash FROM tokens WHERE id = $1`, id).Scan(&stored); err != nil || stored == raw || stored != auth.Hash(raw) {
		t.Fatalf("token stored as %q", stored)
	}
	// Cached now; revoking on this instance still takes effect at once.
	if err := tokens.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Authenticate(ctx, raw); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	// An expiring token stops working at its expiry even when cached.
	soon := time.Now().Add(200 * time.Millisecond)
	short, _, err := tokens.Create(ctx, ws, auth.RoleMember, &soon)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Authenticate(ctx, short); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := tokens.Authenticate(ctx, short); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("expired token: %v", err)
	}
	for _, bad := range []string{"", "cr_", "nope", "cr_" + uuid.NewString()} {
		if _, err := tokens.Authenticate(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// A busy token must not expire under load: when its cache entry ages, one
// request re-reads it in the background and concurrent misses share one
// read, instead of every request in flight querying Postgres at once.
func TestTokens_BusyTokenIsReadOncePerRefreshNotOncePerRequest(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	tokens := auth.NewTokens(db.Ent)
	tokens.CacheTTL = 200 * time.Millisecond
	raw, _, err := tokens.Create(ctx, uuid.Nil, auth.RoleService, nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 64
	stop := time.Now().Add(10 * tokens.CacheTTL)
	var wg sync.WaitGroup
	var checks, failures atomic.Int64
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // every worker misses the empty cache together
			for time.Now().Before(stop) {
				checks.Add(1)
				if c, err := tokens.Authenticate(ctx, raw); err != nil || c.Role != auth.RoleService {
					failures.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	// Ten TTLs: one read to fill the cache, then about one per 3/4 TTL.
	// Without sharing, the first miss alone would be 64 reads.
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d checks failed", f, checks.Load())
	}
	if r := tokens.Reads(); r < 2 || r > 30 {
		t.Fatalf("%d database reads for %d checks by %d workers over 10 TTLs; want about 1 per refresh", r, checks.Load(), workers)
	}
	t.Logf("%d database reads for %d checks", tokens.Reads(), checks.Load())
}

// A background refresh that read the token just before it was revoked must
// not put it back in the cache.
func TestTokens_RevokeWinsOverARefreshInFlight(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	tokens := auth.NewTokens(db.Ent)
	tokens.CacheTTL = 20 * time.Millisecond
	raw, id, err := tokens.Create(ctx, uuid.Nil, auth.RoleService, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // keeps the entry refreshing
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				tokens.Authenticate(ctx, raw) //nolint:errcheck
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := tokens.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if _, err := tokens.Authenticate(ctx, raw); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("revoked token accepted: %v", err)
		}
	}
	close(stop)
	wg.Wait()
}

// A request made after Revoke returned is refused even when a read of the
// token begun before the revocation (which found it valid) is still in
// flight: it does not share that read's answer.
func TestTokens_ARequestAfterRevokeDoesNotJoinAnOlderRead(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	tokens := auth.NewTokens(db.Ent)
	raw, id, err := tokens.Create(ctx, uuid.Nil, auth.RoleService, nil)
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	tokens.SetAfterQuery(func() { once.Do(func() { close(held); <-release }) })
	first := make(chan error, 1)
	go func() { _, err := tokens.Authenticate(ctx, raw); first <- err }()
	<-held // the first read found the token valid and is held there
	if err := tokens.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	after := make(chan error, 1)
	go func() { _, err := tokens.Authenticate(ctx, raw); after <- err }()
	time.Sleep(50 * time.Millisecond) // joins the held read, if it would
	close(release)
	if err := <-after; !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("request after the revocation: %v, want ErrUnauthenticated", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the request before the revocation: %v (it may pass: it began first)", err)
	}
}

// A revoked or expired token is told apart from an unknown one (an open
// WebSocket closes with 4403 rather than 4401), with the same message.
func TestTokens_RevokedAndExpiredAreErrTokenRevoked(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	var ws uuid.UUID
	if err := db.SQL.QueryRow(`INSERT INTO workspaces (id, name, plan_id, balance, held, balance_version, balance_updated_at, created_at)
		VALUES (gen_random_uuid(), 't', 'free', 0, 0, 0, now(), now()) RETURNING id`).Scan(&ws); err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(db.Ent)
	revoked, id, err := tokens.Create(ctx, ws, auth.RoleMember, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Second)
	expired, _, err := tokens.Create(ctx, ws, auth.RoleMember, &past)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		raw     string
		revoked bool
	}{
		"revoked": {revoked, true},
		"expired": {expired, true},
		"unknown": {"cr_" + uuid.NewString(), false},
		"foreign": {"nope", false},
	} {
		_, err := tokens.Authenticate(ctx, tc.raw)
		if !errors.Is(err, auth.ErrUnauthenticated) || errors.Is(err, auth.ErrTokenRevoked) != tc.revoked || err.Error() != auth.ErrUnauthenticated.Error() {
			t.Errorf("%s: %v (revoked %v)", name, err, errors.Is(err, auth.ErrTokenRevoked))
		}
	}
}
