package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// UsageEvent is one finished router call, kept with the cost it was charged.
//
// The table is hand-written SQL (migrations/sql/20261128170000_partition_usage_events.sql):
// it is partitioned by week of occurred_at, which ent cannot declare, and
// each week's partition has the primary key (workspace_id, event_id)
// (migrations/sql/20261129010000_usage_events_week_keys.sql; the parent
// has none), the idempotency key within a week, while the usage path looks
// up the neighbouring week for the rest of the 7-day window; ent has no
// composite id outside edge schemas. This schema mirrors the columns so
// that ent can read the table; ent's id is the event id (unique only
// together with workspace_id, within a week), and migrations/diff.go keeps
// the table out of ent's migration diff.
type UsageEvent struct{ ent.Schema }

func (UsageEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "usage_events"}}
}

func (UsageEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").StorageKey("event_id").NotEmpty().Immutable().
			Comment("the router's event id; with workspace_id, the key of its week's partition"),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.Time("occurred_at").Immutable().Comment("the partition key (UTC week)"),
		field.Int64("input_tokens").NonNegative().Immutable(),
		field.Int64("output_tokens").NonNegative().Immutable(),
		field.Int64("cached_input_tokens").NonNegative().Immutable(),
		field.Int64("traces").NonNegative().Immutable(),
		field.Int64("cost").Immutable().Comment("nano-dollars charged for tokens"),
		field.Int64("trace_cost").Immutable().Comment("nano-dollars charged for traces beyond the plan"),
		field.UUID("batch", uuid.UUID{}).Immutable().Comment("the ledger reference this event was charged under"),
		field.String("model").Immutable(),
	}
}

func (UsageEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("workspace", Workspace.Type).Ref("usage_events").Field("workspace_id").Unique().Required().Immutable(),
	}
}

func (UsageEvent) Indexes() []ent.Index {
	// The primary key, as ent can say it.
	return []ent.Index{index.Fields("workspace_id", "id", "occurred_at").Unique()}
}
