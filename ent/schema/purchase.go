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

// Purchase is one attempt to buy credits by card (the API's Transaction):
// a manual purchase or an auto top-up. It is credited at most once, by the
// ledger entry whose reference is its id.
type Purchase struct{ ent.Schema }

func (Purchase) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "purchases"}}
}

func (Purchase) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.Enum("kind").Values("purchase", "auto_top_up").Immutable(),
		field.Enum("status").Values("pending", "requires_action", "succeeded", "failed").Default("pending"),
		field.Int64("amount").Positive().Immutable().Comment("nano-dollars, whole cents"),
		field.String("idempotency_key").NotEmpty().Immutable(),
		field.String("payment_intent_id").Optional().Nillable(),
		field.String("payment_method_id").Default("").Comment("Stripe PaymentMethod id charged"),
		field.String("card_brand").Default(""),
		field.String("card_last4").Default(""),
		field.Int("card_exp_month").Default(0),
		field.Int("card_exp_year").Default(0),
		field.Bool("save_card").Default(false).Comment("a card given fresh with this purchase: saved to the workspace when it succeeds"),
		field.String("failure_reason").Default(""),
		field.UUID("top_up_id", uuid.UUID{}).Optional().Nillable().Immutable().Comment("the auto top-up this purchase is an attempt of"),
		field.JSON("buyer", map[string]string{}).Optional().Comment("billing profile as it was at purchase time"),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
		field.Time("succeeded_at").Optional().Nillable(),
	}
}

func (Purchase) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "idempotency_key").Unique(),
		index.Fields("workspace_id", "created_at", "id"),
		index.Fields("workspace_id", "payment_intent_id").Unique(),
		index.Fields("payment_intent_id"),
	}
}
