// Package migrations applies the versioned SQL migrations under sql/ (written
// by `make migration`, from the ent schema) to a Postgres database.
//
// It owns the schema's history: which versions exist and which are applied.
// It does not own the schema itself (ent/schema) nor seed data (billing).
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed sql/*.sql
var files embed.FS

// lockKey serialises migrators: several instances starting at once must not
// apply the same version twice.
const lockKey = 7_245_001

// Apply applies every migration not yet recorded in schema_migrations, each
// in its own transaction, in version order. It returns the versions applied.
func Apply(ctx context.Context, db *sql.DB) ([]string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		if ctx.Err() != nil { // cancelled while waiting: the driver says "bad connection"
			return nil, fmt.Errorf("migrate: lock: %w", ctx.Err())
		}
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	// From here ctx stops Apply between migrations, never inside one: a
	// transaction whose context ends is rolled back by database/sql from a
	// goroutine of its own, which closes conn under whatever this goroutine
	// starts on it next (partitions.Maintain panicked so).
	stop := ctx
	ctx = context.WithoutCancel(ctx)
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, lockKey) //nolint:errcheck // released with the session anyway

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied := map[string]bool{}
	rows, err := conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		applied[v] = true
	}
	rows.Close()

	all, err := Versions()
	if err != nil {
		return nil, err
	}
	var done []string
	for _, v := range all {
		if applied[v] {
			continue
		}
		if err := stop.Err(); err != nil {
			return done, err
		}
		body, err := files.ReadFile("sql/" + v + ".sql")
		if err != nil {
			return done, err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return done, err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback() //nolint:errcheck // the exec error is the one to report
			return done, fmt.Errorf("migrate: apply %s: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
			tx.Rollback() //nolint:errcheck
			return done, fmt.Errorf("migrate: record %s: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return done, fmt.Errorf("migrate: commit %s: %w", v, err)
		}
		done = append(done, v)
	}
	return done, nil
}

// Versions lists every migration shipped in the binary, oldest first.
func Versions() ([]string, error) {
	entries, err := fs.ReadDir(files, "sql")
	if err != nil {
		return nil, err
	}
	var vs []string
	for _, e := range entries {
		vs = append(vs, strings.TrimSuffix(e.Name(), ".sql"))
	}
	sort.Strings(vs)
	return vs, nil
}
