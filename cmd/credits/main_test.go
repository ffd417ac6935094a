package main

import (
	"os"
	"testing"

	"github.com/airouter/credits/pgtest"
)

// TestMain drops this binary's template database when the tests end, so
// repeated runs do not leave one behind in the shared Postgres.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.DropTemplates()
	os.Exit(code)
}
