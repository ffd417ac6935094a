package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Invoice is issued once per succeeded purchase, in the transaction that
// credits it, and never changes afterwards: it keeps its own copy of
// everything printed on it.
type Invoice struct{ ent.Schema }

func (Invoice) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "invoices"}}
}

func (Invoice) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.UUID("purchase_id", uuid.UUID{}).Immutable(),
		field.Int64("seq").Immutable().Comment("position in the one gapless, service-wide sequence"),
		field.String("number").Immutable(),
		field.Int64("amount").Immutable(),
		field.Time("issued_at").Immutable(),
		field.Bytes("snapshot").Immutable().Comment("JSON of everything printed on the invoice"),
	}
}

func (Invoice) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "purchase_id").Unique(),
		index.Fields("purchase_id").Unique(),
		index.Fields("seq").Unique(),
		index.Fields("number").Unique(),
	}
}
