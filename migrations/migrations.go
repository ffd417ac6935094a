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
	"time"
)

//go:embed sql/*.sql
var files embed.FS

// lockKey serialises migrators: several instances starting at once must not
// apply the same version twice.
const lockKey = 7_245_001

// lockPoll is how often Apply tries the lock while another migrator holds it.
const lockPoll = 100 * time.Millisecond

// Apply applies every migration not yet recorded in schema_migrations, each
// in its own transaction, in version order. It returns the versions applied.
func Apply(ctx context.Context, db *sql.DB) ([]string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	// ctx stops Apply between statements, never inside one: a statement or
	// transaction whose context ends leaves the session unusable (the
	// driver cancels it and reports "bad connection" on the next one, and
	// database/sql rolls a transaction back from a goroutine of its own,
	// closing conn under whatever this goroutine starts next:
	// partitions.Maintain panicked so). So the lock is polled, and ctx is
	// read between migrations.
	stop := ctx
	ctx = context.WithoutCancel(ctx)
	for {
		var locked bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey).Scan(&locked); err != nil {
			return nil, fmt.Errorf("migrate: lock: %w", err)
		}
		if locked {
			break
		}
		select {
		case <-stop.Done():
			return nil, fmt.Errorf("migrate: lock: %w", stop.Err())
		case <-time.After(lockPoll):
		}
	}
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
