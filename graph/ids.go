package graph

import (
	"strings"

	"github.com/google/uuid"
)

// Global ids name their type, so node(id) knows where to look:
// "txn_<uuid>", "inv_<uuid>", "card_<uuid>".
const (
	txnPrefix  = "txn_"
	invPrefix  = "inv_"
	cardPrefix = "card_"
)

func globalID(prefix string, id uuid.UUID) string { return prefix + id.String() }

// parseID returns the uuid of a global id of the given type; ok is false
// for an id of another type or a malformed one.
func parseID(prefix, id string) (uuid.UUID, bool) {
	rest, found := strings.CutPrefix(id, prefix)
	if !found {
		return uuid.Nil, false
	}
	u, err := uuid.Parse(rest)
	return u, err == nil
}
