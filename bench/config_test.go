package main

import (
	"testing"
	"time"
)

// -prefill-span: the newest prefilled event is an hour before now, so a
// span must leave room after it; and events older than the retention are
// in no week's partition, so a span beyond it would measure the default
// partition instead of history.
func TestConfigValidate_PrefillSpan(t *testing.T) {
	for _, tc := range []struct {
		span time.Duration
		ok   bool
	}{
		{-time.Hour, false}, {0, false}, {time.Hour, false}, {2*time.Hour - time.Nanosecond, false},
		{2 * time.Hour, true}, {336 * time.Hour, true}, {defaultPrefillSpan, true}, {retention, true},
		{retention + time.Nanosecond, false}, {time.Duration(1<<63 - 1), false},
	} {
		cfg := defaultConfig()
		cfg.PrefillSpan = tc.span
		if err := cfg.validate(); (err == nil) != tc.ok {
			t.Errorf("span %s: %v, want ok=%v", tc.span, err, tc.ok)
		}
	}
}
