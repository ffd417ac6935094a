package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// ProcessorEvent records each Stripe webhook event processed, by Stripe's
// event id, so a replayed event is recognised.
type ProcessorEvent struct{ ent.Schema }

func (ProcessorEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "processor_events"}}
}

func (ProcessorEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").NotEmpty().Immutable().Comment("Stripe event id (evt_...)"),
		field.String("type").Immutable(),
		field.Time("received_at").Default(time.Now).Immutable(),
	}
}
