//go:build ignore

// entc generates the ent client from ent/schema. Run through `go generate ./...`.
package main

import (
	"log"

	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	err := entc.Generate("./ent/schema", &gen.Config{
		Target:  "./ent",
		Package: "github.com/airouter/credits/ent",
		Features: []gen.Feature{
			gen.FeatureVersionedMigration,
			gen.FeatureLock,
			gen.FeatureUpsert,
			gen.FeatureExecQuery,
		},
	})
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}
