package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Scenario names for -scenarios.
const (
	scIngest1    = "ingest1"   // usage ingestion, one hot workspace
	scIngest100  = "ingest100" // usage ingestion over 100 workspaces
	scIngestMany = "ingest10k" // usage ingestion over Config.ManyWorkspaces (10,000; 10 in -short)
	scFloor      = "floor"     // the authorize open loop against a do-nothing server
	scAuth       = "auth"      // POST /v1/authorize, open loop
	scGraphQL    = "graphql"   // GraphQL balance query, open loop
	scPgbench    = "pgbench"   // the two pgbench baselines
	scLimit      = "limit"     // the service's ideal usage transaction in pgbench
)

var allScenarios = []string{scIngest1, scIngest100, scIngestMany, scFloor, scAuth, scGraphQL, scPgbench, scLimit}

// maxBatch is the server's limit of events per /v1/usage request.
const maxBatch = 1000

// Config is one harness run.
type Config struct {
	Duration       time.Duration // each measurement
	Warmup         time.Duration // unrecorded load before each open-loop measurement
	Clients        int           // closed-loop ingestion clients, and pgbench -c
	Batch          int           // usage events per request
	AuthorizeRPS   int           // offered load of /v1/authorize
	BalanceRPS     int           // offered load of the GraphQL balance query
	ManyWorkspaces int           // workspaces of the widest ingestion scenario
	PgbenchScale   int           // pgbench -i -s
	// Prefill, when positive, loads that many synthetic events after the
	// ingestion scenarios and runs them again (growth).
	Prefill int64
	// PrefillSpan is how long the prefilled events span (evenly, up to the
	// end of this UTC week: prefill): a year by default. A shorter span with
	// proportionally fewer events (-prefill 1920000 -prefill-span 336h is
	// 50 M a year's last two weeks) reproduces the weeks the write path
	// touches in a minute instead of ten, for trying a change.
	PrefillSpan time.Duration
	// GrowthRounds is how many times a growth run measures each ingestion
	// scenario as a pair, baseline then grown: each round's baseline on a
	// copy of its own made before any load, the grown passes all on the
	// grown database (which so only grows). The ratio is the median of the
	// rounds' (docs/performance.md, 30 Nov morning: one pair moves by ±0.15
	// with the machine).
	GrowthRounds int
	Scenarios    []string // subset to run; empty: all
	// AdminURL is a superuser connection to the Postgres to use; empty asks
	// PG_ADMIN_URL, then scripts/postgres.sh (which finds or starts one).
	AdminURL string
	// SharedBuffers, when set, is the shared_buffers of a private Postgres
	// cluster the run starts for itself (scripts/postgres.sh private) and
	// removes afterwards, instead of the Postgres found: the growth run with
	// a production-sized buffer cache (docs/scaling.md).
	SharedBuffers string
	// ServerEnv is extra environment for the server only (KEY=VALUE), to
	// try runtime settings such as GOGC without changing the generator.
	ServerEnv []string
	// Short is the smoke mode: pgbench is skipped when not installed
	// instead of failing the run.
	Short bool
	// Progress receives one line per step; nil is silent.
	Progress io.Writer
}

func defaultConfig() Config {
	return Config{Duration: 15 * time.Second, Warmup: 2 * time.Second, Clients: 16, Batch: 100, AuthorizeRPS: 10000, BalanceRPS: 1000,
		ManyWorkspaces: 10000, PgbenchScale: 10, PrefillSpan: defaultPrefillSpan, GrowthRounds: 3}
}

// shortConfig is the smoke mode: every scenario runs, just briefly and
// small, so a broken harness shows in seconds.
func shortConfig() Config {
	return Config{Duration: time.Second, Warmup: 500 * time.Millisecond, Clients: 2, Batch: 20, AuthorizeRPS: 500, BalanceRPS: 100,
		ManyWorkspaces: 10, PgbenchScale: 10, PrefillSpan: defaultPrefillSpan, GrowthRounds: 2, Short: true}
}

// parseScenarios reads a comma list of scenario names ("all" or empty: every one).
func parseScenarios(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "" || name == "all":
			continue
		case !slices.Contains(allScenarios, name):
			return nil, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(allScenarios, ","))
		case !slices.Contains(out, name):
			out = append(out, name)
		}
	}
	return out, nil
}

// has reports whether a scenario is selected.
func (c Config) has(name string) bool {
	return len(c.Scenarios) == 0 || slices.Contains(c.Scenarios, name)
}

// needsServer reports whether any selected scenario talks to the server.
func (c Config) needsServer() bool {
	return c.has(scIngest1) || c.has(scIngest100) || c.has(scIngestMany) || c.has(scFloor) || c.has(scAuth) || c.has(scGraphQL)
}

func (c Config) validate() error {
	switch {
	case c.Duration <= 0:
		return errors.New("-duration must be positive")
	case c.Warmup < 0:
		return errors.New("-warmup must not be negative")
	case c.Clients < 1:
		return errors.New("-clients must be at least 1")
	case c.Batch < 1 || c.Batch > maxBatch:
		return fmt.Errorf("-batch must be 1..%d (the server's limit per request)", maxBatch)
	case c.AuthorizeRPS < 1 || c.BalanceRPS < 1:
		return errors.New("offered loads must be at least 1 rps")
	case c.ManyWorkspaces < 1:
		return errors.New("-workspaces must be at least 1")
	case c.Prefill < 0:
		return errors.New("-prefill must not be negative")
	case c.PrefillSpan < 2*time.Hour || c.PrefillSpan > retention:
		return fmt.Errorf("-prefill-span must be 2h to %s (the usage retention)", retention)
	case c.GrowthRounds < 1 || c.GrowthRounds > maxGrowthRounds:
		return fmt.Errorf("-growth-rounds must be 1..%d", maxGrowthRounds)
	case c.PgbenchScale < 1:
		return errors.New("pgbench scale must be at least 1")
	case c.SharedBuffers != "" && !sharedBuffersPattern.MatchString(c.SharedBuffers):
		return fmt.Errorf("-shared-buffers %q: want a whole size in kB, MB or GB, such as 6GB", c.SharedBuffers)
	case c.SharedBuffers != "" && c.AdminURL != "":
		return errors.New("-shared-buffers starts a private Postgres; it cannot be combined with a given admin URL")
	}
	return nil
}

// maxGrowthRounds bounds the copies of the database a growth run makes.
const maxGrowthRounds = 9

// sharedBuffersPattern is a size Postgres reads for shared_buffers, and
// nothing else reaches its command line.
var sharedBuffersPattern = regexp.MustCompile(`^[1-9][0-9]{0,6}(kB|MB|GB)$`)
