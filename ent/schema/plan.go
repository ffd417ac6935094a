package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Plan is a reference table: how many traces a month a workspace gets
// included, and what each extra trace costs (nano-dollars).
type Plan struct{ ent.Schema }

func (Plan) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "plans"}}
}

func (Plan) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").NotEmpty().Immutable().Comment("short key, e.g. free, pro"),
		field.String("name").NotEmpty(),
		field.Int64("included_traces").NonNegative().Comment("traces included per calendar month (UTC)"),
		field.Int64("extra_trace_price").NonNegative().Comment("nano-dollars per trace beyond the included ones"),
	}
}

func (Plan) Edges() []ent.Edge {
	return []ent.Edge{edge.To("workspaces", Workspace.Type)}
}
