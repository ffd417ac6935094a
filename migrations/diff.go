//go:build ignore

// diff writes a new versioned migration with the SQL that takes the database
// described by the existing migrations to the ent schema. It needs an empty
// scratch Postgres database (DEV_DATABASE_URL) to replay them in.
//
//	go run ./migrations/diff.go <name>   (make migration NAME=<name>)
package main

import (
	"context"
	"log"
	"os"
	"strings"

	atlas "ariga.io/atlas/sql/migrate"
	atlasschema "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/airouter/credits/ent/migrate"
	_ "github.com/lib/pq"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run ./migrations/diff.go <name>")
	}
	dev := os.Getenv("DEV_DATABASE_URL")
	if dev == "" {
		log.Fatal("DEV_DATABASE_URL (an empty scratch database) is required")
	}
	dir, err := atlas.NewLocalDir("migrations/sql")
	if err != nil {
		log.Fatalf("open migration dir: %v", err)
	}
	opts := []schema.MigrateOption{
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithFormatter(atlas.DefaultFormatter),
		schema.WithDiffHook(skipHandWritten),
	}
	if err := migrate.NamedDiff(context.Background(), dev, os.Args[1], opts...); err != nil {
		log.Fatalf("generate migration: %v", err)
	}
}

// skipHandWritten leaves usage_events and its partitions (usage_events_*)
// out of the diff: that table is partitioned by hand-written SQL
// (migrations/sql/20261128170000_partition_usage_events.sql), which ent
// cannot declare, so ent's view of it (a plain table keyed by id) always
// differs and its partitions are tables ent does not know.
func skipHandWritten(next schema.Differ) schema.Differ {
	return schema.DiffFunc(func(current, desired *atlasschema.Schema) ([]atlasschema.Change, error) {
		return next.Diff(withoutHandWritten(current), withoutHandWritten(desired))
	})
}

func withoutHandWritten(s *atlasschema.Schema) *atlasschema.Schema {
	out := *s
	out.Tables = nil
	for _, t := range s.Tables {
		if t.Name != "usage_events" && !strings.HasPrefix(t.Name, "usage_events_") {
			out.Tables = append(out.Tables, t)
		}
	}
	return &out
}
