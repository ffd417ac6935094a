package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// CreditNote cancels an invoice wholly or in part: one per refund and per
// lost dispute, issued in the transaction that moves the balance, numbered
// in its own gapless series (CN-2026-000001) and never changed afterwards:
// it keeps its own copy of everything printed on it.
type CreditNote struct{ ent.Schema }

func (CreditNote) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "credit_notes"}}
}

func (CreditNote) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.UUID("invoice_id", uuid.UUID{}).Immutable(),
		field.UUID("purchase_id", uuid.UUID{}).Immutable(),
		field.UUID("source_id", uuid.UUID{}).Immutable().Comment("the refund or dispute it was issued for"),
		field.Int64("seq").Immutable().Comment("position in the credit notes' one gapless, service-wide sequence"),
		field.String("number").Immutable(),
		field.Int64("amount").Positive().Immutable(),
		field.Time("issued_at").Immutable(),
		field.Bytes("snapshot").Immutable().Comment("JSON of everything printed on the credit note"),
	}
}

func (CreditNote) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "source_id").Unique(),
		index.Fields("workspace_id", "invoice_id"),
		index.Fields("workspace_id", "purchase_id"),
		index.Fields("seq").Unique(),
		index.Fields("number").Unique(),
	}
}
