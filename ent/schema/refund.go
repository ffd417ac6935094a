package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Refund is money of a purchase sent back to the card: one Stripe refund
// (by its id), a part of a charge's cumulative refunded amount that a
// webhook reported without the refund list, or an operator's refund that
// is waiting for the processor's answer (no processor id yet). Its ledger
// entry (kind refund, reference = processor id) and credit note follow once
// the purchase is credited.
type Refund struct{ ent.Schema }

func (Refund) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "refunds"}}
}

func (Refund) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.UUID("purchase_id", uuid.UUID{}).Immutable(),
		field.String("processor_id").Optional().Nillable().
			Comment("Stripe refund id (re_…), or <charge>:refunded:<cumulative cents> for a webhook without the refund list; null while an operator refund awaits the processor"),
		field.Enum("source").Values("operator", "processor").Immutable(),
		field.Enum("status").Values("pending", "succeeded", "failed").Default("pending"),
		field.Int64("amount").Positive().Immutable().Comment("nano-dollars, whole cents"),
		field.String("reason").Default("").Immutable(),
		field.Time("created_at").Immutable(),
		field.Time("updated_at"),
	}
}

func (Refund) Indexes() []ent.Index {
	return []ent.Index{
		// A Stripe refund is recorded once, whatever delivers it.
		index.Fields("workspace_id", "processor_id").Unique(),
		index.Fields("workspace_id", "purchase_id"),
		index.Fields("created_at"),
	}
}
