package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// InvoiceCounter is the one service-wide invoice sequence (a single row).
// It is advanced in the transaction that issues the invoice, so a rolled
// back purchase returns its number and none is ever skipped. Only
// succeeded purchases touch it: it stays off the usage hot path.
type InvoiceCounter struct{ ent.Schema }

func (InvoiceCounter) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "invoice_counters"}}
}

func (InvoiceCounter) Fields() []ent.Field {
	return []ent.Field{
		field.Int("id").Immutable(),
		field.Int64("last").Default(0),
	}
}
