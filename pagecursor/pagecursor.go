// Package pagecursor encodes the opaque cursors of keyset-paginated lists
// (purchase history, alert deliveries): a row's creation time and id.
package pagecursor

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Encode is base64 of "<unix microseconds>:<id>"; clients treat it as opaque.
func Encode(t time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + ":" + id.String()))
}

// Cursor times outside what Postgres stores are forged (Postgres would
// refuse them with an error, not an empty page).
var minTime, maxTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Decode reverses Encode, refusing anything Encode could not have made.
func Decode(c string) (time.Time, uuid.UUID, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	micros, idText, ok := strings.Cut(string(raw), ":")
	if !ok {
		return time.Time{}, uuid.Nil, fmt.Errorf("cursor has no id")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	t := time.UnixMicro(us).UTC()
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, uuid.Nil, fmt.Errorf("cursor time out of range")
	}
	id, err := uuid.Parse(idText)
	return t, id, err
}
