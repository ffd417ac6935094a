package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ModelPrice is one version of a model's price; the version in force at an
// event's occurred_at prices it. A reference table.
type ModelPrice struct{ ent.Schema }

func (ModelPrice) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "model_prices"}}
}

func (ModelPrice) Fields() []ent.Field {
	return []ent.Field{
		field.String("model").NotEmpty(),
		field.Int64("input_per_million").NonNegative().Comment("nano-dollars per 1M input tokens"),
		field.Int64("output_per_million").NonNegative(),
		field.Int64("cached_input_per_million").Optional().Nillable().Comment("null: cached input is priced as input"),
		field.Time("effective_from"),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (ModelPrice) Indexes() []ent.Index {
	return []ent.Index{index.Fields("model", "effective_from").Unique()}
}
