package schema

import (
	"encoding/json"
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// NotificationSetting is where a workspace's alerts go and when a low
// balance is worth one.
type NotificationSetting struct{ ent.Schema }

func (NotificationSetting) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "notification_settings"}}
}

func (NotificationSetting) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.Int64("low_balance_threshold").Optional().Nillable().
			Comment("nano-dollars: balance.low when a deduction takes the balance below this; null: no low-balance alert"),
		field.Strings("emails").Default([]string{}).Comment("billing email addresses alerts are mailed to"),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

func (NotificationSetting) Indexes() []ent.Index {
	return []ent.Index{index.Fields("workspace_id").Unique()}
}

// WebhookEndpoint is a URL the owner registered to receive alerts, signed
// with its secret (Standard Webhooks).
type WebhookEndpoint struct{ ent.Schema }

func (WebhookEndpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "webhook_endpoints"}}
}

func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.String("url").Immutable(),
		field.String("secret").Immutable().Sensitive().Comment("whsec_…: shown once, at creation"),
		field.Time("failing_since").Optional().Nillable().Comment("set when a delivery gave up; cleared by the next success"),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

func (WebhookEndpoint) Indexes() []ent.Index {
	return []ent.Index{index.Fields("workspace_id", "created_at")}
}

// AlertEvent is the outbox: one row per alert, written in the transaction
// of the change that caused it, so a crash never loses or invents one.
// The worker fans it out to alert deliveries after commit.
type AlertEvent struct{ ent.Schema }

func (AlertEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "alert_events"}}
}

func (AlertEvent) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.Enum("type").NamedValues(
			"BalanceLow", "balance.low",
			"BalanceDepleted", "balance.depleted",
			"AutoTopUpFailed", "auto_top_up.failed",
			"AutoTopUpPaused", "auto_top_up.paused",
			"PurchaseSucceeded", "purchase.succeeded",
		).Immutable(),
		field.String("key").Immutable().Comment("what the event is about (a balance version, a purchase): one event per (workspace, type, key)"),
		field.JSON("data", json.RawMessage{}).Comment("the event's payload; completed once when dispatched, then fixed"),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("dispatched_at").Optional().Nillable().Comment("when its deliveries were written"),
	}
}

func (AlertEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "type", "key").Unique(),
		index.Fields("created_at").Annotations(entsql.IndexWhere("dispatched_at IS NULL")),
	}
}

// AlertDelivery is one event sent to one destination (the billing emails,
// or one webhook endpoint), retried with backoff until it succeeds or a
// day has passed; it is also the delivery log the owner reads.
type AlertDelivery struct{ ent.Schema }

func (AlertDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "alert_deliveries"}}
}

func (AlertDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.UUID("event_id", uuid.UUID{}).Immutable(),
		field.String("event_type").Immutable(),
		field.Enum("channel").Values("email", "webhook").Immutable(),
		field.UUID("endpoint_id", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.String("destination").Immutable().Comment(`"email", or the endpoint id: one delivery per (event, destination)`),
		field.String("target").Immutable().Comment("the URL, or the addresses, as they were when the event was dispatched"),
		field.Enum("state").Values("pending", "delivered", "failed", "canceled").Default("pending"),
		field.Int("attempts").Default(0),
		field.Time("next_attempt_at").Comment("due time; while an attempt runs, the end of its lease"),
		field.Time("last_attempt_at").Optional().Nillable(),
		field.Int("last_status").Default(0).Comment("HTTP status of the last webhook attempt (0: none)"),
		field.String("last_error").Default(""),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("delivered_at").Optional().Nillable(),
	}
}

func (AlertDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("workspace_id", "event_id", "destination").Unique(),
		index.Fields("workspace_id", "channel", "created_at"),
		index.Fields("next_attempt_at").Annotations(entsql.IndexWhere("state = 'pending'")),
	}
}
