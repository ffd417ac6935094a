package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// UsageRollup sums a workspace's usage per day (UTC, by occurred_at) and
// model, kept in the transaction that charges the events, so the usage
// view reads a few rows a day instead of every event.
type UsageRollup struct{ ent.Schema }

func (UsageRollup) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "usage_rollups"}}
}

func (UsageRollup) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.Time("day").Immutable().SchemaType(map[string]string{"postgres": "date"}),
		field.String("model").Immutable(),
		field.Int64("requests").Default(0),
		field.Int64("input_tokens").Default(0),
		field.Int64("output_tokens").Default(0),
		field.Int64("cached_input_tokens").Default(0),
		field.Int64("traces").Default(0),
		field.Int64("cost").Default(0).Comment("nano-dollars: token cost plus trace overage"),
	}
}

func (UsageRollup) Indexes() []ent.Index {
	return []ent.Index{index.Fields("workspace_id", "day", "model").Unique()}
}
