package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// LedgerEntry is one append-only change of a workspace balance, written in
// the transaction that changes the balance.
type LedgerEntry struct{ ent.Schema }

func (LedgerEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "ledger_entries"}}
}

func (LedgerEntry) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id").Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.Enum("kind").Values("purchase", "auto_top_up", "usage", "tracing", "adjustment", "refund", "dispute", "dispute_won").Immutable(),
		field.Int64("amount").Immutable().Comment("nano-dollars, signed: credits positive, deductions negative"),
		field.Int64("balance_after").Immutable(),
		field.String("reference").NotEmpty().Immutable().Comment("what caused it: a purchase id, a usage batch id, a grant id; unique per workspace and kind so a credit is never applied twice"),
		field.String("description").Default("").Immutable(),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (LedgerEntry) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("workspace", Workspace.Type).Ref("ledger_entries").Field("workspace_id").Unique().Required().Immutable(),
	}
}

// Indexes: the idempotency key only. Entries are read by workspace (the
// primary key (workspace_id, id) leads with it, and id grows with time);
// no query reads them by created_at, and every usage transaction writes
// an entry per workspace it touches, so an index nobody reads was a third
// of the ledger's index writes.
func (LedgerEntry) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "kind", "reference").Unique(),
	}
}
