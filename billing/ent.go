package billing

import (
	"database/sql"
	"errors"

	entsql "entgo.io/ent/dialect/sql"
)

// entDesc orders an ent query term descending.
func entDesc() entsql.OrderTermOption { return entsql.OrderDesc() }

// isNoRows: ent answers an upsert that did nothing (ON CONFLICT DO NOTHING)
// with sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
