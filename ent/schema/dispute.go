package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Dispute is a chargeback of a purchase (a Stripe dispute, by its id):
// its amount is withdrawn from the balance when it opens (ledger kind
// dispute), returned when it is won (dispute_won), and stays withdrawn
// with a credit note when it is lost. Inquiries, which withdraw nothing at
// Stripe, are not recorded.
type Dispute struct{ ent.Schema }

func (Dispute) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "disputes"}}
}

func (Dispute) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.UUID("purchase_id", uuid.UUID{}).Immutable(),
		field.String("processor_id").NotEmpty().Immutable().Comment("Stripe dispute id (dp_…)"),
		field.Enum("status").Values("open", "won", "lost").Default("open"),
		field.Int64("amount").Positive().Immutable().Comment("nano-dollars withdrawn, whole cents"),
		field.String("reason").Default("").Immutable().Comment("Stripe's reason: fraudulent, product_not_received, …"),
		field.Time("created_at").Immutable(),
		field.Time("updated_at"),
	}
}

func (Dispute) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "processor_id").Unique(),
		index.Fields("workspace_id", "purchase_id"),
		index.Fields("created_at"),
	}
}
