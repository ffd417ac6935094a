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
