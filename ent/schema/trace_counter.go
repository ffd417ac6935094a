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

// TraceCounter counts a workspace's traces in one calendar month (UTC).
type TraceCounter struct{ ent.Schema }

func (TraceCounter) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "trace_counters"}}
}

func (TraceCounter) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.String("month").Immutable().Comment("YYYY-MM, UTC"),
		field.Int64("count").Default(0),
	}
}

func (TraceCounter) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("workspace", Workspace.Type).Ref("trace_counters").Field("workspace_id").Unique().Required().Immutable(),
	}
}

func (TraceCounter) Indexes() []ent.Index {
	return []ent.Index{index.Fields("workspace_id", "month").Unique()}
}
