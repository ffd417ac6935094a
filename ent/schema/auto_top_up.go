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

// AutoTopUpSetting is a workspace's auto top-up configuration and its
// failure state (paused after too many declines until saved again).
type AutoTopUpSetting struct{ ent.Schema }

func (AutoTopUpSetting) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "auto_top_up_settings"}}
}

func (AutoTopUpSetting) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.Bool("enabled").Default(false),
		field.Int64("threshold").Default(0).Comment("nano-dollars: top up when a deduction takes the balance below this"),
		field.Int64("amount").Default(0).Comment("nano-dollars to buy, whole cents"),
		field.UUID("card_id", uuid.UUID{}).Optional().Nillable().Comment("payment_methods.id; null: the default card"),
		field.Bool("paused").Default(false),
		field.String("last_error").Default(""),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

func (AutoTopUpSetting) Indexes() []ent.Index {
	return []ent.Index{index.Fields("workspace_id").Unique()}
}

// TopUp is one scheduled auto top-up (an outbox row), written in the
// transaction of the deduction that crossed the threshold. At most one is
// open (pending or charging) per workspace, by a partial unique index.
type TopUp struct{ ent.Schema }

func (TopUp) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "top_ups"}}
}

func (TopUp) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.Enum("status").Values("pending", "charging", "succeeded", "failed", "canceled").Default("pending"),
		field.Int64("amount").Immutable(),
		field.Int("declines").Default(0).Comment("declined attempts so far; also names the attempt's purchase"),
		field.Time("next_attempt_at").Default(time.Now),
		field.String("last_error").Default(""),
		field.UUID("purchase_id", uuid.UUID{}).Optional().Nillable(),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

func (TopUp) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id").Unique().Annotations(entsql.IndexWhere("status IN ('pending', 'charging')")),
		index.Fields("status", "next_attempt_at"),
		index.Fields("workspace_id", "created_at"),
	}
}
