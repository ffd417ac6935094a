// Package pgtest gives tests a fresh, migrated and seeded Postgres database.
// It needs a real server: TEST_DATABASE_URL (an admin connection, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, which
// `make test` sets after finding or starting one). There is no stand-in.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"

	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/lib/pq"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/migrations"
)

// DefaultAdminURL is used when TEST_DATABASE_URL is unset: the local server
// the development and CI machines run.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// AdminURL is the server tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// DB is one fresh database.
type DB struct {
	URL string
	SQL *sql.DB
	Ent *ent.Client
}

// New creates a fresh database (a copy of a migrated, seeded template made
// once per test binary) and drops it when the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	ctx := context.Background()
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("pgtest: no Postgres at TEST_DATABASE_URL (%s): %v; run `make test`, which finds or starts one", redact(AdminURL()), err)
	}
	templateOnce.Do(func() { templateName, templateErr = makeTemplate(ctx, admin) })
	if templateErr != nil {
		t.Fatalf("pgtest: template: %v", templateErr)
	}
	name := "credits_test_" + randomSuffix()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, templateName)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	u := withDatabase(AdminURL(), name)
	db, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	client := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", db)))
	t.Cleanup(func() {
		db.Close()
		a, err := sql.Open("postgres", AdminURL())
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)) //nolint:errcheck // best effort
	})
	return &DB{URL: u, SQL: db, Ent: client}
}

func makeTemplate(ctx context.Context, admin *sql.DB) (string, error) {
	name := "credits_tmpl_" + randomSuffix()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", err
	}
	db, err := sql.Open("postgres", withDatabase(AdminURL(), name))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := migrations.Apply(ctx, db); err != nil {
		return "", err
	}
	if err := billing.Seed(ctx, db); err != nil {
		return "", err
	}
	return name, nil
}

// DropTemplates removes the template this binary made; call it from TestMain
// after m.Run (optional: stale templates are harmless and small).
func DropTemplates() {
	if templateName == "" {
		return
	}
	a, err := sql.Open("postgres", AdminURL())
	if err != nil {
		return
	}
	defer a.Close()
	a.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, templateName)) //nolint:errcheck // best effort
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}
