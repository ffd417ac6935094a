package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/airouter/credits/migrations"
	"github.com/airouter/credits/pgtest"
)

// A context that ends at any moment of Apply (an instance stopped while
// it migrates) stops it between migrations: it returns, never panics,
// never records a migration it did not apply, and the next Apply
// finishes the work.
func TestApply_CanceledAtAnyMoment(t *testing.T) {
	admin, err := sql.Open("postgres", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	all, err := migrations.Versions()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("credits_migrate_cancel_%d", time.Now().UnixNano())
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	for i := range 10 {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("postgres", u.String())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(time.Duration(i*3) * time.Millisecond)
			cancel()
		}()
		done, err := migrations.Apply(ctx, db)
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: %v", i, err)
		}
		var recorded int
		if len(done) > 0 {
			if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&recorded); err != nil || recorded != len(done) {
				t.Fatalf("run %d: applied %d, recorded %d (%v)", i, len(done), recorded, err)
			}
		}
		rest, err := migrations.Apply(context.Background(), db)
		if err != nil || len(done)+len(rest) != len(all) {
			t.Fatalf("run %d: %d then %d of %d migrations (%v)", i, len(done), len(rest), len(all), err)
		}
		db.Close()
	}
	if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
}

// Another migrator holding the lock: Apply waits for it, gives up when its
// context ends (an instance stopped while it waited), and applies
// everything once the holder is gone.
func TestApply_WaitsForAnotherMigratorAndCanStopWaiting(t *testing.T) {
	db := pgtest.New(t).SQL // migrated already: Apply has nothing to do but take the lock
	holder, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(context.Background(), `SELECT pg_advisory_lock(7245001)`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := migrations.Apply(ctx, db); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply while another migrator holds the lock: %v, want the deadline", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("gave up after %s", waited)
	}
	done := make(chan error, 1)
	go func() { _, err := migrations.Apply(context.Background(), db); done <- err }()
	time.Sleep(150 * time.Millisecond)
	if _, err := holder.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7245001)`); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Apply still waiting after the lock was released")
	}
}
