//go:build ignore

// rehash rewrites migrations/sql/atlas.sum after a migration file was edited
// by hand (e.g. a data fix-up before a new constraint, or SQL ent cannot
// express): go run ./migrations/rehash.go
package main

import (
	"log"

	atlas "ariga.io/atlas/sql/migrate"
)

func main() {
	dir, err := atlas.NewLocalDir("migrations/sql")
	if err != nil {
		log.Fatal(err)
	}
	sum, err := dir.Checksum()
	if err != nil {
		log.Fatal(err)
	}
	if err := atlas.WriteSumFile(dir, sum); err != nil {
		log.Fatal(err)
	}
}
