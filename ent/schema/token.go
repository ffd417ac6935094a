package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"
)

// Token is a bearer token, stored as its SHA-256 hash only.
type Token struct{ ent.Schema }

func (Token) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "tokens"}}
}

func (Token) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.UUID("workspace_id", uuid.UUID{}).Optional().Nillable().Immutable().Comment("null for service tokens"),
		field.Enum("role").Values("owner", "member", "service").Immutable(),
		field.String("hash").Unique().Immutable().Sensitive().Comment("hex SHA-256 of the token"),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("expires_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

func (Token) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("workspace", Workspace.Type).Ref("tokens").Field("workspace_id").Unique().Immutable(),
	}
}
