package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// CreditNoteCounter is the credit notes' one service-wide sequence (a
// single row, id 1, inserted by the migration that made the table),
// advanced in the transaction that issues the credit note, so a rollback
// returns the number and none is skipped.
type CreditNoteCounter struct{ ent.Schema }

func (CreditNoteCounter) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "credit_note_counters"}}
}

func (CreditNoteCounter) Fields() []ent.Field {
	return []ent.Field{
		field.Int("id").Immutable(),
		field.Int64("last").Default(0),
	}
}
