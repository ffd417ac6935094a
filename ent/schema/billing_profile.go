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

// BillingProfile is who a workspace's invoices are made out to. Invoices
// copy it when issued, so editing it never rewrites an issued invoice.
type BillingProfile struct{ ent.Schema }

func (BillingProfile) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "billing_profiles"}}
}

func (BillingProfile) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("workspace_id", uuid.UUID{}).Immutable(),
		field.String("name").NotEmpty(),
		field.String("line1").NotEmpty(),
		field.String("line2").Default(""),
		field.String("city").NotEmpty(),
		field.String("postal_code").Default(""),
		field.String("state").Default(""),
		field.String("country").NotEmpty().Comment("ISO 3166-1 alpha-2"),
		field.String("tax_country").Default(""),
		field.String("tax_type").Default("").Comment("Stripe tax ID type, e.g. eu_vat; empty: none"),
		field.String("tax_value").Default(""),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

func (BillingProfile) Indexes() []ent.Index {
	return []ent.Index{index.Fields("workspace_id").Unique()}
}
