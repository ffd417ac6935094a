package migrations_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/airouter/credits/pgtest"
)

// referenceTables are the tables that would be Citus reference tables
// (copied whole to every node) rather than distributed by workspace_id:
// small, shared, or globally unique by design. Everything else that has a
// workspace_id is workspace-scoped. docs/scaling.md says why each is here.
var referenceTables = []string{
	"plans",                // shared catalog
	"model_prices",         // shared catalog
	"invoice_counters",     // the one global invoice sequence
	"invoices",             // numbered by that sequence, unique over all workspaces; one per purchase
	"credit_note_counters", // the one global credit note sequence
	"credit_notes",         // numbered by it, like invoices; one per refund or lost dispute
	"tokens",               // looked up by hash before the workspace is known
	"processor_events",     // Stripe event ids, global
	"schema_migrations",    // the migrator's own
	"usage_accruals",       // not a reference table: the settler's seconds-long queue spanning workspaces, local to the coordinator (docs/scaling.md)
	"usage_week_locks_0",   // not a reference table either: the usage transactions' week locks, rowless, local to the coordinator like usage_accruals
	"usage_week_locks_1",
	"usage_week_locks_2",
	"usage_week_locks_3",
	"usage_week_seals", // not a reference table either: which weeks are sealed for the dedupe filter, one row a week, local to the coordinator
}

// distributionColumn is the Citus distribution column: workspace_id, or id
// for workspaces itself.
func distributionColumn(table string) string {
	if table == "workspaces" {
		return "id"
	}
	return "workspace_id"
}

// TestSchema_WorkspaceScopedKeysIncludeWorkspaceID reads the migrated
// schema and fails when a workspace-scoped table's primary key or any
// unique constraint or unique index (partial ones included) does not
// include the distribution column, or when a table is neither
// workspace-scoped nor listed as a reference table: Citus can only enforce
// uniqueness that includes the distribution column.
func TestSchema_WorkspaceScopedKeysIncludeWorkspaceID(t *testing.T) {
	db := pgtest.New(t).SQL
	// Ordinary and partitioned tables of the public schema; partitions are
	// checked through their parent (they inherit its keys).
	rows, err := db.Query(`SELECT c.relname,
			EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	scoped := map[string]bool{}
	var tables []string
	for rows.Next() {
		var name string
		var hasWorkspace bool
		if err := rows.Scan(&name, &hasWorkspace); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
		scoped[name] = (hasWorkspace || name == "workspaces") && !slices.Contains(referenceTables, name)
	}
	rows.Close()
	for _, ref := range referenceTables {
		if !slices.Contains(tables, ref) {
			t.Errorf("reference table %s is not in the schema (renamed? update the list)", ref)
		}
	}
	for _, name := range tables {
		if !scoped[name] && !slices.Contains(referenceTables, name) {
			t.Errorf("table %s has no workspace_id and is not a listed reference table: distribute it by workspace_id or list it", name)
		}
	}

	// Every unique index (primary keys and unique constraints are backed
	// by one) with the columns it covers. A partition's own keys (usage_events'
	// are per partition) count for its parent table.
	rows, err = db.Query(`SELECT COALESCE((SELECT p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent
				WHERE h.inhrelid = t.oid), t.relname), i.relname, x.indisprimary,
			ARRAY(SELECT a.attname FROM unnest(x.indkey) AS k(n) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n)::text[]
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = 'public' AND x.indisunique ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	withPK := map[string]bool{}
	for rows.Next() {
		var table, index string
		var primary bool
		var cols []string
		if err := rows.Scan(&table, &index, &primary, pq.Array(&cols)); err != nil {
			t.Fatal(err)
		}
		if primary {
			withPK[table] = true
		}
		if !scoped[table] {
			continue
		}
		checked++
		if !slices.Contains(cols, distributionColumn(table)) {
			kind := "unique index"
			if primary {
				kind = "primary key"
			}
			t.Errorf("%s: %s %s (%s) does not include %s", table, kind, index, strings.Join(cols, ", "), distributionColumn(table))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for name, s := range scoped {
		if s && !withPK[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("workspace-scoped tables without a primary key: %v", missing)
	}
	if checked == 0 {
		t.Fatal("no unique index of a workspace-scoped table was checked")
	}
}
