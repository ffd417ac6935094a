package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"
)

// Workspace is a customer: it holds the balance the ledger sums to.
type Workspace struct{ ent.Schema }

func (Workspace) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "workspaces"}}
}

func (Workspace) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.String("name").NotEmpty(),
		// Fixed at creation: billing remembers it (billing/settle.go).
		field.String("plan_id").Immutable(),
		// Immutable to ent: the ledger (ledger.Apply) is the one writer of
		// these four, in raw SQL under the workspace's row lock.
		field.Int64("balance").Default(0).Immutable().Comment("nano-dollars; always equals the sum of this workspace's ledger entries"),
		field.Int64("held").Default(0).Immutable().Comment("nano-dollars reserved by active holds; available = balance - held"),
		field.Int64("balance_version").Default(0).Immutable().Comment("bumped on every balance change; orders cached copies"),
		field.Time("balance_updated_at").Default(time.Now).Immutable(),
		field.String("stripe_customer_id").Optional().Nillable(),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (Workspace) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("plan", Plan.Type).Ref("workspaces").Field("plan_id").Unique().Required().Immutable(),
		edge.To("tokens", Token.Type),
		edge.To("ledger_entries", LedgerEntry.Type),
		edge.To("usage_events", UsageEvent.Type),
		edge.To("trace_counters", TraceCounter.Type),
	}
}
