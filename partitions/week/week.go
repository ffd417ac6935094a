// Package week is the calendar usage_events is partitioned by: UTC weeks,
// Monday 00:00 to Monday 00:00. The partition maintainer creates and drops
// them; billing's duplicate lookup skips the week whose partition key
// refuses a repeated event id by itself. Both must agree on the bounds.
package week

import "time"

// Length is the span of one week, and so of one partition.
const Length = 7 * 24 * time.Hour

// Start is the UTC midnight starting the week (Monday to Sunday) of t.
func Start(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -(int(day.Weekday())+6)%7)
}
