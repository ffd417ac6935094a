package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// PaymentMethod is a saved card: the processor's id and display data only,
// never a card number.
type PaymentMethod struct{ ent.Schema }

func (PaymentMethod) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "payment_methods"}}
}

func (PaymentMethod) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.String("processor_id").NotEmpty().Immutable().Comment("Stripe PaymentMethod id (pm_...)"),
		field.String("brand"),
		field.String("last4"),
		field.Int("exp_month"),
		field.Int("exp_year"),
		field.Bool("is_default").Default(false),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (PaymentMethod) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "processor_id").Unique(),
		index.Fields("processor_id"),
		// Exactly one default card per workspace, whatever the code does.
		index.Fields("workspace_id").Unique().StorageKey("payment_methods_one_default").Annotations(entsql.IndexWhere("is_default")),
	}
}
