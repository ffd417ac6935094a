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
// The table is hand-written SQL (migrations/sql/20261128170000_partition_usage_events.sql
// and later): it is partitioned by week of occurred_at, which ent cannot
// declare, and each week's primary key is (workspace_id, event_key), the
// idempotency key (event_key is the hash of the event id; docs/scaling.md).
// This schema mirrors the columns so that ent can read the table; ent's id
// is the event id (unique only per workspace and week), and
// migrations/diff.go keeps the table out of ent's migration diff.
type UsageEvent struct{ ent.Schema }

func (UsageEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "usage_events"}}
}

func (UsageEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").StorageKey("event_id").NotEmpty().Immutable().
			Comment("the router's event id"),
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
		field.UUID("event_key", uuid.UUID{}).Immutable().
			Comment("the first 16 bytes of the SHA-256 of the event id: with workspace_id, the week's idempotency key"),
	}
}

func (UsageEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("workspace", Workspace.Type).Ref("usage_events").Field("workspace_id").Unique().Required().Immutable(),
	}
}

func (UsageEvent) Indexes() []ent.Index {
	// Each week's primary key, as ent can say it (the table has no key
	// over all weeks).
	return []ent.Index{index.Fields("workspace_id", "event_key")}
}
