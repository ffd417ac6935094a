// Package graph is the GraphQL API: the schema (*.graphqls), thin resolvers
// that decode, make one call into billing and encode, and the handler with
// its limits and error presenter. It holds no money arithmetic and no
// business rule.
package graph

import (
	"log/slog"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/feed"
)

// Resolver holds what resolvers call into.
type Resolver struct {
	Billing *billing.Service
	Ent     *ent.Client
	Tokens  *auth.Tokens
	Hub     *feed.Hub
	Log     *slog.Logger
	// PublicURL is the base of invoice download links.
	PublicURL string
}
