package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/airouter/credits/migrations"
	"github.com/airouter/credits/partitions"
	"github.com/airouter/credits/pgtest"
)

// The migration to hashed keys, on a database that has events: every
// existing row gets usage_event_key(event_id), the key becomes (workspace_id,
// event_key), a re-delivered id still collides with its original, and the
// weekly maintenance then creates weeks with the new key and moves the
// rows into them.
func TestMigration_EventKeyKeysExistingEvents(t *testing.T) {
	const version = "20261129100000_usage_events_event_key"
	db := scratchDatabase(t, "credits_migrate_event_key")
	ctx := context.Background()
	all, err := migrations.Versions()
	if err != nil {
		t.Fatal(err)
	}
	// Apply everything before the version: mark it and what follows as applied.
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	var later []string
	for _, v := range all {
		if v >= version {
			later = append(later, v)
		}
	}
	if len(later) == 0 || later[0] != version {
		t.Fatalf("migration %s not shipped", version)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version) SELECT unnest($1::text[])`, pq.Array(later)); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Apply(ctx, db); err != nil {
		t.Fatal(err)
	}
	ws := "6f1b3c52-0c0e-4d1a-9d7e-2b0c3f8e5a11" // usage_events has no foreign key to workspaces
	ids := []string{"plain", "é中🙂", `a,"b"\c`, "x"}
	at := time.Now().UTC().Add(-time.Hour)
	for _, id := range ids {
		if _, err := db.Exec(`INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens, cached_input_tokens, traces,
			cost, trace_cost, batch, event_id, model) VALUES ($1, $2, 1, 1, 0, 0, 1, 0, gen_random_uuid(), $3, 'gpt-4o')`, ws, at, id); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = ANY($1::text[])`, pq.Array(later)); err != nil {
		t.Fatal(err)
	}
	done, err := migrations.Apply(ctx, db)
	if err != nil || len(done) != len(later) {
		t.Fatalf("applied %v, %v; want %v", done, err, later)
	}
	var n, keyed int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE event_key = usage_event_key(event_id)) FROM usage_events`).Scan(&n, &keyed); err != nil {
		t.Fatal(err)
	}
	if n != len(ids) || keyed != n {
		t.Fatalf("%d events, %d keyed by their hashed id; want %d", n, keyed, len(ids))
	}
	assertKey := func() {
		t.Helper()
		var parts, keyed int
		if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE (SELECT array_agg(a.attname::text ORDER BY k.n)
				FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(att, n)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att
				WHERE c.conrelid = i.inhrelid AND c.contype = 'p') = ARRAY['workspace_id', 'event_key'])
			FROM pg_inherits i WHERE i.inhparent = 'usage_events'::regclass`).Scan(&parts, &keyed); err != nil {
			t.Fatal(err)
		}
		if parts == 0 || keyed != parts {
			t.Fatalf("%d partitions, %d keyed by (workspace_id, event_key)", parts, keyed)
		}
	}
	assertKey()
	redeliver := func() error {
		_, err := db.Exec(`INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens, cached_input_tokens, traces,
			cost, trace_cost, batch, event_id, model, event_key) VALUES ($1, $2, 1, 1, 0, 0, 1, 0, gen_random_uuid(), $3::text, 'gpt-4o', usage_event_key($3::text))`,
			ws, at, ids[1])
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "23505" {
			return fmt.Errorf("re-delivered %q: %v; want a unique violation", ids[1], err)
		}
		return nil
	}
	if err := redeliver(); err != nil {
		t.Fatal(err)
	}
	// Maintenance makes this week with the new key and moves the rows in.
	if err := partitions.Maintain(ctx, db, time.Now(), 400*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	var inDefault int
	if err := db.QueryRow(`SELECT count(*) FROM usage_events_default`).Scan(&inDefault); err != nil || inDefault != 0 {
		t.Fatalf("%d events left in the default partition (%v)", inDefault, err)
	}
	assertKey()
	if err := redeliver(); err != nil {
		t.Fatal(err)
	}
}

// scratchDatabase creates an empty database, dropped when the test ends.
func scratchDatabase(t *testing.T, prefix string) *sql.DB {
	t.Helper()
	admin, err := sql.Open("postgres", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`) //nolint:errcheck // best effort
	})
	return db
}
