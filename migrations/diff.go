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

	atlas "ariga.io/atlas/sql/migrate"
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
	}
	if err := migrate.NamedDiff(context.Background(), dev, os.Args[1], opts...); err != nil {
		log.Fatalf("generate migration: %v", err)
	}
}
