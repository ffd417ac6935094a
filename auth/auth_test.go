package auth_test

import (
	"context"
	"errors"
	"os"
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
