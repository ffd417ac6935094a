// Command bench is the load harness of issue 8: it starts the server on a
// fresh database and measures, in one run against the same Postgres,
// usage ingestion (1, 100 and 10,000 workspaces), authorize at a fixed
// offered load, the GraphQL balance query, and the pgbench baselines
// (tpcb-like and a one-row "hot" update), then prints one table with the
// ratios and writes it to bench/results/ as JSON and Markdown.
//
//	go run ./bench [-duration 15s] [-clients 16] [-batch 100] [-short]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg := defaultConfig()
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long each measurement runs")
	flag.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent clients for ingestion and pgbench")
	flag.IntVar(&cfg.Batch, "batch", cfg.Batch, "usage events per request")
	flag.IntVar(&cfg.AuthorizeRPS, "authorize-rps", cfg.AuthorizeRPS, "offered authorize load")
	flag.IntVar(&cfg.BalanceRPS, "balance-rps", cfg.BalanceRPS, "offered GraphQL balance load")
	flag.IntVar(&cfg.ManyWorkspaces, "workspaces", cfg.ManyWorkspaces, "workspaces in the widest ingestion scenario")
	short := flag.Bool("short", false, "smoke mode: 1 s measurements, 2 clients, 10 workspaces")
	flag.Parse()
	if *short {
		cfg = shortConfig()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	table := res.Markdown()
	fmt.Print(table)
	if err := res.Write("bench/results"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: write results:", err)
		os.Exit(1)
	}
	fmt.Printf("\n(total %s; written to bench/results/)\n", time.Since(start).Round(time.Second))
	if !res.InvariantOK {
		os.Exit(2)
	}
}
