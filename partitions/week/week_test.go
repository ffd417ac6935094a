package week

import (
	"testing"
	"time"
)

func TestStart_IsTheUTCMondayOfTheWeek(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"monday midnight", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), "2026-11-23"},
		{"sunday last nanosecond", time.Date(2026, 11, 29, 23, 59, 59, 999999999, time.UTC), "2026-11-23"},
		{"next monday", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), "2026-11-30"},
		{"another zone: still Sunday in New York, Monday in UTC", time.Date(2026, 11, 29, 21, 0, 0, 0, time.FixedZone("EST", -5*3600)), "2026-11-30"},
		{"year boundary", time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC), "2026-12-28"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Start(tc.at).Format("2006-01-02"); got != tc.want {
				t.Fatalf("Start(%s) = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}
