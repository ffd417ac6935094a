package main

import (
	"strings"
	"testing"
	"time"
)

// -prefill-span: events older than the retention are in no week's
// partition, so a span beyond it would measure the default partition
// instead of history (the span ends at the end of this week, after now,
// so a span of the retention itself stays inside it); and a span of less
// than two hours is no history.
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

// -shared-buffers reaches a Postgres command line: only a plain size gets
// there, and never together with an admin URL naming another server.
func TestConfigValidate_SharedBuffers(t *testing.T) {
	for _, tc := range []struct {
		size string
		ok   bool
	}{
		{"", true}, {"128MB", true}, {"6GB", true}, {"131072kB", true}, {"9999999GB", true},
		{"0MB", false}, {"06GB", false}, {"10000000GB", false}, {"6gb", false}, {"6 GB", false}, {"6GB ", false},
		{"6GB -c fsync=off", false}, {"6GB\nfsync=off", false}, {"6GB\x00", false}, {"6\xffGB", false},
		{"-1GB", false}, {"25%", false}, {"6TB", false}, {"6", false}, {"GB", false}, {"6GB'", false},
	} {
		cfg := defaultConfig()
		cfg.SharedBuffers = tc.size
		if err := cfg.validate(); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok=%v", tc.size, err, tc.ok)
		}
	}
	cfg := defaultConfig()
	cfg.SharedBuffers, cfg.AdminURL = "1GB", "postgres://postgres@127.0.0.1:5432/postgres"
	if err := cfg.validate(); err == nil {
		t.Error("-shared-buffers with an admin URL: accepted")
	}
}

func TestConfigValidate_GrowthRounds(t *testing.T) {
	for _, n := range []int{0, -1, maxGrowthRounds + 1} {
		c := defaultConfig()
		c.GrowthRounds = n
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), "-growth-rounds") {
			t.Errorf("%d rounds: %v", n, err)
		}
	}
	c := defaultConfig()
	c.GrowthRounds = maxGrowthRounds
	if err := c.validate(); err != nil {
		t.Errorf("%d rounds: %v", maxGrowthRounds, err)
	}
}
