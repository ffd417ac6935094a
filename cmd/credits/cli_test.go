package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/airouter/credits/pgtest"
)

// cli runs the credits command against db and returns its output and error.
func cli(t *testing.T, db *pgtest.DB, args ...string) (string, error) {
	t.Helper()
	t.Setenv("DATABASE_URL", db.URL)
	t.Setenv("STRIPE_SECRET_KEY", "")
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	return out.String(), err
}

func newWorkspace(t *testing.T, db *pgtest.DB) string {
	t.Helper()
	out, err := cli(t, db, "workspace", "create", "--name", "CLI test", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ws struct {
		WorkspaceID string `json:"workspace_id"`
	}
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		t.Fatal(err)
	}
	return ws.WorkspaceID
}

// Issue 15.5 and the grant policy: positive amounts, explicit debits, a
// confirmation above the bound, and a reused reference said out loud.
func TestCLIGrant_PositiveAmountsExplicitDebitsLargeConfirmationAndReusedReferences(t *testing.T) {
	db := pgtest.New(t)
	ws := newWorkspace(t, db)
	grant := func(args ...string) (string, error) {
		return cli(t, db, append([]string{"credits", "grant", "--workspace", ws, "--reason", "goodwill credit"}, args...)...)
	}
	if _, err := grant("--amount", "-3"); err == nil || !strings.Contains(err.Error(), "positive") {
		t.Fatalf("a negative grant: %v", err)
	}
	if _, err := grant("--amount", "100000000"); err == nil || !strings.Contains(err.Error(), "confirm") {
		t.Fatalf("a huge grant without --confirm-large: %v", err)
	}
	if out, err := grant("--amount", "25", "--reference", "TICKET-1"); err != nil || !strings.Contains(out, "granted 25.00") {
		t.Fatalf("grant: %q %v", out, err)
	}
	if out, err := grant("--amount", "25", "--reference", "TICKET-1"); err != nil || !strings.Contains(out, "already applied") {
		t.Fatalf("the same grant again: %q %v", out, err)
	}
	if _, err := grant("--amount", "30", "--reference", "TICKET-1"); err == nil || !strings.Contains(err.Error(), "25.00") {
		t.Fatalf("another amount under a used reference: %v", err)
	}
	out, err := cli(t, db, "credits", "debit", "--workspace", ws, "--amount", "5", "--reason", "correction")
	if err != nil || !strings.Contains(out, "balance 20.00") {
		t.Fatalf("debit: %q %v", out, err)
	}
	if out, err := grant("--amount", "1500", "--confirm-large"); err != nil || !strings.Contains(out, "balance 1520.00") {
		t.Fatalf("a confirmed large grant: %q %v", out, err)
	}
}

// Issue 14.2: without STRIPE_SECRET_KEY every purchase would look credited
// without a charge, and --fix would take them all back.
func TestCLIReconcile_RefusesTheSandboxUnlessAskedExplicitly(t *testing.T) {
	db := pgtest.New(t)
	if _, err := cli(t, db, "reconcile", "--fix"); err == nil || !strings.Contains(err.Error(), "--allow-sandbox") {
		t.Fatalf("reconcile against the sandbox: %v", err)
	}
	if out, err := cli(t, db, "reconcile", "--allow-sandbox"); err != nil || !strings.Contains(out, "0 differences") {
		t.Fatalf("reconcile --allow-sandbox: %q %v", out, err)
	}
}

// migrate makes the weeks' partitions and tells the operator how large
// the dedupe indexes are beside shared_buffers.
func TestCLIMigrate_PrintsTheDedupeWorkingSet(t *testing.T) {
	db := pgtest.New(t)
	out, err := cli(t, db, "migrate")
	if err != nil {
		t.Fatalf("migrate: %q %v", out, err)
	}
	for _, want := range []string{"migrations applied", "usage dedupe indexes", "this week's key", "last week's lookup", "shared_buffers"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate printed %q, lacks %q", out, want)
		}
	}
}
