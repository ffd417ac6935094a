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

// UsageEvent is one finished router call, kept with the cost it was charged.
type UsageEvent struct{ ent.Schema }

func (UsageEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "usage_events"}}
}

func (UsageEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id").Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.String("event_id").NotEmpty().Immutable().Comment("the router's id; the idempotency key"),
		field.String("model").Immutable(),
		field.Int64("input_tokens").NonNegative().Immutable(),
		field.Int64("output_tokens").NonNegative().Immutable(),
		field.Int64("cached_input_tokens").NonNegative().Immutable(),
		field.Int64("traces").NonNegative().Immutable(),
		field.Time("occurred_at").Immutable(),
		field.Int64("cost").Immutable().Comment("nano-dollars charged for tokens"),
		field.Int64("trace_cost").Immutable().Comment("nano-dollars charged for traces beyond the plan"),
		field.String("batch").Immutable().Comment("the ledger reference this event was charged under"),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (UsageEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("workspace", Workspace.Type).Ref("usage_events").Field("workspace_id").Unique().Required().Immutable(),
	}
}

func (UsageEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "event_id").Unique(),
		index.Fields("workspace_id", "occurred_at"),
	}
}
