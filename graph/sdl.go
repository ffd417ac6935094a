package graph

import (
	"strings"

	"github.com/vektah/gqlparser/v2/formatter"

	"github.com/airouter/credits/graph/generated"
)

// SDL is the schema printed as GraphQL SDL (GET /graphql/schema.graphql),
// the same schema introspection describes.
func SDL() string {
	var b strings.Builder
	formatter.NewFormatter(&b, formatter.WithIndent("  ")).FormatSchema(generated.NewExecutableSchema(generated.Config{}).Schema())
	return b.String()
}
