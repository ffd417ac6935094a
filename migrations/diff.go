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
		schema.WithDiffHook(skipHandWritten, keepPrimaryKeys),
	}
	if err := migrate.NamedDiff(context.Background(), dev, os.Args[1], opts...); err != nil {
		log.Fatalf("generate migration: %v", err)
	}
}

// skipHandWritten leaves usage_events and its partitions (usage_events_*)
// out of the diff: that table is partitioned by hand-written SQL
// (migrations/sql/20261128170000_partition_usage_events.sql), which ent
// cannot declare, so ent's view of it (a plain table keyed by id) always
// differs and its partitions are tables ent does not know. usage_accruals
// is hand-written too (arrays stored uncompressed; billing/settle.go is
// its only reader).
func skipHandWritten(next schema.Differ) schema.Differ {
	return schema.DiffFunc(func(current, desired *atlasschema.Schema) ([]atlasschema.Change, error) {
		return next.Diff(withoutHandWritten(current), withoutHandWritten(desired))
	})
}

func withoutHandWritten(s *atlasschema.Schema) *atlasschema.Schema {
	out := *s
	out.Tables = nil
	for _, t := range s.Tables {
		if t.Name != "usage_events" && !strings.HasPrefix(t.Name, "usage_events_") && t.Name != "usage_accruals" {
			out.Tables = append(out.Tables, t)
		}
	}
	return &out
}

// keepPrimaryKeys leaves primary keys out of the diff: the workspace-scoped
// tables' keys are (workspace_id, id), set by hand-written SQL
// (migrations/sql/20261128180000_citus_keys.sql) for Citus, and ent, which
// cannot declare a composite id, would put them back to (id).
func keepPrimaryKeys(next schema.Differ) schema.Differ {
	return schema.DiffFunc(func(current, desired *atlasschema.Schema) ([]atlasschema.Change, error) {
		changes, err := next.Diff(current, desired)
		if err != nil {
			return nil, err
		}
		kept := changes[:0]
		for _, c := range changes {
			if m, ok := c.(*atlasschema.ModifyTable); ok {
				inner := m.Changes[:0]
				for _, ic := range m.Changes {
					switch ic.(type) {
					case *atlasschema.AddPrimaryKey, *atlasschema.DropPrimaryKey, *atlasschema.ModifyPrimaryKey:
						continue
					}
					inner = append(inner, ic)
				}
				if m.Changes = inner; len(inner) == 0 {
					continue
				}
			}
			kept = append(kept, c)
		}
		return kept, nil
	})
}
