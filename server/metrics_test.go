package server_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/partitions"
)

// scrape reads the unlabelled samples of /metrics.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	samples := map[string]float64{}
	lines := bufio.NewScanner(strings.NewReader(string(b)))
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			samples[name] = v
		}
	}
	return samples
}

// The partition maintenance the server runs at start-up measures the
// dedupe working set; /metrics shows it beside shared_buffers, as
// Postgres reports them.
func TestMetrics_ShowTheDedupeWorkingSetAfterStartUp(t *testing.T) {
	e := newEnv(t)
	var got map[string]float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got = scrape(t, e.srv.URL)
		if got["credits_postgres_shared_buffers_bytes"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no shared_buffers on /metrics 10 s after start-up: %v", got)
		}
	}
	want, err := partitions.DedupeWorkingSet(context.Background(), e.db.SQL, e.billing.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Start-up made this week's and last week's partitions (with last
	// week's hash index): neither is 0.
	if want.ThisWeekKey == 0 || want.LastWeekLookup == 0 {
		t.Fatalf("working set %+v: start-up made no partitions", want)
	}
	for name, v := range map[string]int64{
		"credits_usage_dedupe_index_bytes":      want.Bytes(),
		"credits_postgres_shared_buffers_bytes": want.SharedBuffers,
	} {
		if got[name] != float64(v) {
			t.Errorf("%s %v, want %d", name, got[name], v)
		}
	}
}
