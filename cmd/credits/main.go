// Command credits runs and operates the credits service: serve, migrate,
// and the operator commands of CONTRACT.md. main parses configuration,
// opens the database, builds the services and mounts the handlers; nothing
// else lives here.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"
	_ "github.com/lib/pq"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/feed"
	"github.com/airouter/credits/graph"
	"github.com/airouter/credits/migrations"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/server"
)

const usage = `usage: credits <command> [flags]

commands:
  serve                                   run the server (ADDR, default :8080)
  migrate                                 apply database migrations and seed plans and prices
  workspace create --name N [--plan P] [--json]
  token create --workspace ID --role owner|member [--json]
  token create --role service [--json]
  token revoke --id TOKEN_ID
  credits grant --workspace ID --amount D --reason R [--reference REF]
  price set --model M --input D --output D [--cached D] [--effective-from RFC3339]
  reconcile [--since RFC3339] [--until RFC3339] [--fix] [--json]
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "credits:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return errors.New("a command is required")
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	cmd := args[0]
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		cmd += " " + args[1]
		args = args[1:]
	}
	args = args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return withDB(ctx, cfg, func(a *app) error { return a.migrate(ctx, out) })
	case "workspace create":
		return withDB(ctx, cfg, func(a *app) error { return a.createWorkspace(ctx, args, out) })
	case "token create":
		return withDB(ctx, cfg, func(a *app) error { return a.createToken(ctx, args, out) })
	case "token revoke":
		return withDB(ctx, cfg, func(a *app) error { return a.revokeToken(ctx, args, out) })
	case "credits grant":
		return withDB(ctx, cfg, func(a *app) error { return a.grant(ctx, args, out) })
	case "price set":
		return withDB(ctx, cfg, func(a *app) error { return a.setPrice(ctx, args, out) })
	case "reconcile":
		return withDB(ctx, cfg, func(a *app) error { return a.reconcile(ctx, args, out) })
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// app is the opened database and the services over it.
type app struct {
	cfg     config
	log     *slog.Logger
	db      *sql.DB
	ent     *ent.Client
	billing *billing.Service
	tokens  *auth.Tokens
	sandbox *payments.Sandbox // set when no Stripe key is configured
}

// splitLines splits SELLER_ADDRESS into invoice lines at ";".
func splitLines(s string) []string {
	var lines []string
	for _, l := range strings.Split(s, ";") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func withDB(ctx context.Context, cfg config, f func(*app) error) error {
	// Operator commands log errors only: the sandbox's warning is for servers.
	a, err := open(ctx, cfg, slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		return err
	}
	defer a.db.Close()
	return f(a)
}

func open(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	db, err := sql.Open("postgres", cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// Enough for concurrent request handling on a small machine; Postgres's
	// default max_connections is 100 and several instances may share it.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	client := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", db)))
	a := &app{cfg: cfg, log: log, db: db, ent: client, tokens: auth.NewTokens(client)}
	var processor payments.Provider
	if cfg.StripeSecretKey != "" {
		processor = payments.NewStripe(cfg.StripeSecretKey, payments.StripeOptions{APIBase: cfg.StripeAPIBase}, log)
	} else {
		a.sandbox = payments.NewSandbox(log)
		processor = a.sandbox
	}
	seller := billing.Seller{Name: cfg.SellerName, Address: splitLines(cfg.SellerAddress), TaxID: cfg.SellerTaxID}
	a.billing = billing.New(db, client, processor, billing.Config{MinPurchase: cfg.MinPurchase, MaxPurchase: cfg.MaxPurchase, Seller: seller,
		TopUps: billing.TopUpPolicy{MaxDeclines: cfg.TopUpMaxDeclines, Backoff: cfg.TopUpBackoff, MaxPerHour: cfg.TopUpMaxPerHour}}, log)
	return a, nil
}

func (a *app) migrate(ctx context.Context, out io.Writer) error {
	applied, err := migrations.Apply(ctx, a.db)
	if err != nil {
		return err
	}
	if err := billing.Seed(ctx, a.db); err != nil {
		return err
	}
	fmt.Fprintf(out, "migrations applied: %d; plans and prices seeded\n", len(applied))
	return nil
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tuneGC()
	serveDebug(cfg.DebugAddr, log)
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if cfg.AutoMigrate {
		if err := a.migrate(ctx, io.Discard); err != nil {
			return err
		}
	}
	if err := a.billing.Start(ctx); err != nil {
		return err
	}
	gate := billing.NewGate(a.billing, cfg.AuthorizeMaxStale)
	hub := feed.NewHub()
	listener := feed.NewListener(cfg.DatabaseURL, log)
	listener.OnBalance = append(listener.OnBalance, gate.Observe, hub.Publish)
	listener.OnLive = append(listener.OnLive, gate.SetLive, func(live bool) {
		if live {
			go hub.Refresh(ctx, a.billing.GetBalance)
		}
	})
	go func() {
		if err := listener.Run(ctx); err != nil {
			log.Error("balance listener stopped", "err", err)
		}
	}()

	// Auto top-up worker: safe with any number of instances (SKIP LOCKED).
	go a.billing.RunTopUps(ctx)
	go a.billing.RunHoldExpiry(ctx, 5*time.Second)

	// Operators add price versions with `credits price set`; every instance
	// picks them up within a minute (set future effective dates to be exact).
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := a.billing.Prices().Reload(ctx, a.db); err != nil {
					log.Error("reload prices", "err", err)
				}
			}
		}
	}()

	srv := server.New(server.Deps{
		DB: a.db, Billing: a.billing, Gate: gate, Tokens: a.tokens, Limits: cfg.graphLimits(), Log: log,
		WebhookSecret: webhookSecret(cfg, a.sandbox != nil), Sandbox: a.sandbox,
		MutationsPerSecond: cfg.MutationsPerSecond, MutationBurst: cfg.MutationBurst,
		CORSAllowedOrigins: cfg.CORSAllowedOrigins, BodyTimeout: cfg.BodyTimeout,
		Resolver: &graph.Resolver{Billing: a.billing, Balances: gate, Ent: a.ent, Tokens: a.tokens, Hub: hub, Log: log, PublicURL: cfg.PublicURL},
	})
	edge, err := srv.Listen(cfg.edge())
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- edge.Serve() }()
	log.Info("credits serving", "addr", cfg.Addr, "router_addr", cfg.RouterAddr, "playground", cfg.PublicURL+"/")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, let in-flight requests (and so every
	// usage batch being committed) finish, then close the database.
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return edge.Shutdown(shutCtx)
}

// webhookSecret is STRIPE_WEBHOOK_SECRET; the sandbox, which has no Stripe
// dashboard to copy one from, defaults to SandboxWebhookSecret.
func webhookSecret(cfg config, sandbox bool) string {
	if cfg.StripeWebhookSecret == "" && sandbox {
		return SandboxWebhookSecret
	}
	return cfg.StripeWebhookSecret
}

// SandboxWebhookSecret signs webhooks in sandbox mode (tests, `stripe trigger`-style scripts).
const SandboxWebhookSecret = "whsec_sandbox"

func (a *app) createWorkspace(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("workspace create", flag.ContinueOnError)
	name := fs.String("name", "", "workspace name")
	plan := fs.String("plan", billing.DefaultPlan, "plan id (free, pro, enterprise)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := a.billing.CreateWorkspace(ctx, *name, *plan)
	if err != nil {
		return err
	}
	raw, _, err := a.tokens.Create(ctx, id, auth.RoleOwner, nil)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(map[string]string{"workspace_id": id.String(), "token": raw})
	}
	fmt.Fprintf(out, "workspace %s created\nowner token (shown once): %s\n", id, raw)
	return nil
}

func (a *app) createToken(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	wsFlag := fs.String("workspace", "", "workspace id (owner and member tokens)")
	roleFlag := fs.String("role", "", "owner, member or service")
	ttl := fs.Duration("ttl", 0, "expire after this long (0: never)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	role, err := auth.ParseRole(*roleFlag)
	if err != nil {
		return err
	}
	var ws uuid.UUID
	if role != auth.RoleService {
		if ws, err = uuid.Parse(*wsFlag); err != nil {
			return fmt.Errorf("--workspace: %w", err)
		}
	} else if *wsFlag != "" {
		return errors.New("a service token acts for every workspace; omit --workspace")
	}
	var expires *time.Time
	if *ttl > 0 {
		t := time.Now().Add(*ttl)
		expires = &t
	}
	raw, id, err := a.tokens.Create(ctx, ws, role, expires)
	if err != nil {
		return err
	}
	if *asJSON {
		m := map[string]string{"token": raw, "token_id": id.String(), "role": string(role)}
		if ws != uuid.Nil {
			m["workspace_id"] = ws.String()
		}
		return json.NewEncoder(out).Encode(m)
	}
	fmt.Fprintf(out, "%s token %s created (shown once): %s\n", role, id, raw)
	return nil
}

func (a *app) revokeToken(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	idFlag := fs.String("id", "", "token id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := uuid.Parse(*idFlag)
	if err != nil {
		return fmt.Errorf("--id: %w", err)
	}
	if err := a.tokens.Revoke(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(out, "token %s revoked\n", id)
	return nil
}

func (a *app) grant(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("credits grant", flag.ContinueOnError)
	wsFlag := fs.String("workspace", "", "workspace id")
	amountFlag := fs.String("amount", "", "amount in USD, e.g. 25.00 (negative debits)")
	reason := fs.String("reason", "", "why, for the ledger")
	ref := fs.String("reference", "", "idempotency reference (default: a new one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ws, err := uuid.Parse(*wsFlag)
	if err != nil {
		return fmt.Errorf("--workspace: %w", err)
	}
	amount, err := money.Parse(*amountFlag)
	if err != nil {
		return fmt.Errorf("--amount %q: %w", *amountFlag, err)
	}
	b, err := a.billing.Grant(ctx, ws, amount, *reason, *ref)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "granted %s USD to %s; balance %s USD (blocked: %v)\n", amount, ws, b.Amount, b.Blocked())
	return nil
}

func (a *app) reconcile(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	since := fs.String("since", time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339), "window start (RFC 3339)")
	until := fs.String("until", time.Now().UTC().Format(time.RFC3339), "window end (RFC 3339)")
	fix := fs.Bool("fix", false, "repair differences through the ledger")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	from, err := time.Parse(time.RFC3339, *since)
	if err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	to, err := time.Parse(time.RFC3339, *until)
	if err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	if a.sandbox != nil {
		fmt.Fprintln(os.Stderr, "credits: no STRIPE_SECRET_KEY: reconciling against an empty sandbox")
	}
	report, err := a.billing.Reconcile(ctx, from, to, *fix)
	if *asJSON {
		if jerr := json.NewEncoder(out).Encode(report); jerr != nil {
			return jerr
		}
	} else {
		for _, d := range report {
			fmt.Fprintf(out, "%s purchase %s intent %s amount %s fixed=%v\n", d.Kind, d.PurchaseID, d.IntentID, d.Amount, d.Fixed)
		}
		fmt.Fprintf(out, "%d differences between %s and %s\n", len(report), from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return err
}

func (a *app) setPrice(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("price set", flag.ContinueOnError)
	model := fs.String("model", "", "model name")
	in := fs.String("input", "", "USD per 1M input tokens")
	outp := fs.String("output", "", "USD per 1M output tokens")
	cached := fs.String("cached", "", "USD per 1M cached input tokens (default: as input)")
	from := fs.String("effective-from", "", "RFC 3339 time the price takes effect (default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := billing.Price{Model: *model}
	var err error
	if p.InputPerMillion, err = money.Parse(*in); err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	if p.OutputPerMillion, err = money.Parse(*outp); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if *cached != "" {
		c, err := money.Parse(*cached)
		if err != nil {
			return fmt.Errorf("--cached: %w", err)
		}
		p.CachedPerMillion = &c
	}
	if *from != "" {
		if p.EffectiveFrom, err = time.Parse(time.RFC3339, *from); err != nil {
			return fmt.Errorf("--effective-from: %w", err)
		}
	}
	if err := a.billing.SetPrice(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(out, "price of %s set; running servers pick it up within a minute\n", p.Model)
	return nil
}
