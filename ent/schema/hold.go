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

// Hold reserves a call's worst-case cost at authorize time, so concurrent
// calls cannot spend more than the balance. The matching usage event
// settles it; an unsettled hold expires. Active holds sum to
// workspaces.held, kept in the same transactions.
type Hold struct{ ent.Schema }

func (Hold) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "holds"}}
}

func (Hold) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.String("request_id").NotEmpty().Immutable(),
		field.Int64("amount").Immutable().Comment("nano-dollars held"),
		field.Enum("status").Values("active", "settled", "expired").Default("active"),
		field.Time("expires_at").Immutable(),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (Hold) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "request_id").Unique(),
		index.Fields("status", "expires_at"),
	}
}
