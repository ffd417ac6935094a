// Command credits runs and operates the credits service: serve, migrate,
// and the operator commands of CONTRACT.md. main parses configuration,
// opens the database, builds the services and mounts the handlers; nothing
// else lives here.
package main

import (
	"context"
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

	"github.com/google/uuid"
	_ "github.com/lib/pq"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/app"
	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/migrations"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/partitions"
	"github.com/airouter/credits/payments"
)

const usage = `usage: credits <command> [flags]

commands:
  serve                                   run the server (ADDR, default :8080)
  migrate                                 apply database migrations and seed plans and prices
  workspace create --name N [--plan P] [--json]
  token create --workspace ID --role owner|member [--json]
  token create --role service [--json]
  token revoke --id TOKEN_ID
  credits grant --workspace ID --amount D --reason R [--reference REF] [--confirm-large]
  credits debit --workspace ID --amount D --reason R [--reference REF] [--confirm-large]
  refund --transaction ID [--amount D] --reason R [--allow-negative] [--json]
  refund --transaction ID --resume REFUND_ID     finish a refund whose outcome was unknown
  price set --model M --input D --output D [--cached D|none] [--effective-from RFC3339] [--force]
  reconcile [--since RFC3339] [--until RFC3339] [--fix] [--json] [--allow-sandbox]
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
		return withDB(ctx, cfg, func(a *instance) error { return a.migrate(ctx, out) })
	case "workspace create":
		return withDB(ctx, cfg, func(a *instance) error { return a.createWorkspace(ctx, args, out) })
	case "token create":
		return withDB(ctx, cfg, func(a *instance) error { return a.createToken(ctx, args, out) })
	case "token revoke":
		return withDB(ctx, cfg, func(a *instance) error { return a.revokeToken(ctx, args, out) })
	case "credits grant":
		return withDB(ctx, cfg, func(a *instance) error { return a.adjust(ctx, args, out, false) })
	case "credits debit":
		return withDB(ctx, cfg, func(a *instance) error { return a.adjust(ctx, args, out, true) })
	case "refund":
		return withDB(ctx, cfg, func(a *instance) error { return a.refund(ctx, args, out) })
	case "price set":
		return withDB(ctx, cfg, func(a *instance) error { return a.setPrice(ctx, args, out) })
	case "reconcile":
		return withDB(ctx, cfg, func(a *instance) error { return a.reconcile(ctx, args, out) })
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

// instance is one built service (app.Build) for a command to use.
type instance struct {
	*app.App
	cfg config
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

// options turns the environment's configuration into app.Options.
func options(cfg config, log *slog.Logger) app.Options {
	var processor payments.Provider
	if cfg.StripeSecretKey != "" {
		processor = payments.NewStripe(cfg.StripeSecretKey, payments.StripeOptions{APIBase: cfg.StripeAPIBase}, log)
	}
	seller := cfg.seller()
	var key []byte
	if cfg.DownloadSigningKey != "" {
		key = []byte(cfg.DownloadSigningKey)
	}
	return app.Options{
		DatabaseURL: cfg.DatabaseURL, Processor: processor, Log: log, PublicURL: cfg.PublicURL, DownloadSigningKey: key,
		Limits: cfg.graphLimits(), CORSAllowedOrigins: cfg.CORSAllowedOrigins, BodyTimeout: cfg.BodyTimeout, UsageRetention: cfg.UsageRetention,
		SettleInterval: cfg.SettleInterval,
		WebhookSecret:  webhookSecret(cfg, processor == nil), AuthorizeMaxStale: cfg.AuthorizeMaxStale,
		MutationsPerSecond: cfg.MutationsPerSecond, MutationBurst: cfg.MutationBurst, StripePublishableKey: cfg.StripePublishable,
		Alerts: alerts.Config{SMTPURL: cfg.SMTPURL, From: cfg.SMTPFrom, AllowPrivate: cfg.WebhookAllowPrivate, SendTimeout: cfg.AlertsSendTimeout,
			MaxRate: cfg.AlertsMaxRate},
		Billing: billing.Config{MinPurchase: cfg.MinPurchase, MaxPurchase: cfg.MaxPurchase, Seller: seller, LargeAdjustment: cfg.LargeAdjustment,
			TopUps: billing.TopUpPolicy{MaxDeclines: cfg.TopUpMaxDeclines, Backoff: cfg.TopUpBackoff, MaxPerHour: cfg.TopUpMaxPerHour}},
	}
}

func withDB(ctx context.Context, cfg config, f func(*instance) error) error {
	// Operator commands log errors only: the sandbox's warning is for servers.
	a, err := app.Build(options(cfg, slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))))
	if err != nil {
		return err
	}
	defer a.DB.Close()
	return f(&instance{App: a, cfg: cfg})
}

func (a *instance) migrate(ctx context.Context, out io.Writer) error {
	applied, err := migrations.Apply(ctx, a.DB)
	if err != nil {
		return err
	}
	if err := billing.Seed(ctx, a.DB); err != nil {
		return err
	}
	// Partitions for the weeks around now, so the first events land in
	// theirs (serve keeps them up to date every hour).
	now := a.Billing.Now()
	if err := partitions.Maintain(ctx, a.DB, now, a.cfg.UsageRetention); err != nil {
		return err
	}
	fmt.Fprintf(out, "migrations applied: %d; plans and prices seeded\n", len(applied))
	a.printWorkingSet(ctx, out, now)
	return nil
}

// printWorkingSet tells the operator whether Postgres's buffers hold what
// usage ingestion reads per event (serve logs and exports the same every
// hour). Only advice: a failure to measure does not fail the command.
func (a *instance) printWorkingSet(ctx context.Context, out io.Writer, now time.Time) {
	w, err := partitions.DedupeWorkingSet(ctx, a.DB, now)
	switch {
	case err != nil:
		fmt.Fprintf(out, "%v (migrations are applied)\n", err)
	case w.Oversized():
		fmt.Fprintf(out, "%s: the indexes take more than half of it and ingestion slows as they grow; raise shared_buffers to at least %d MB (docs/scaling.md, \"What one Postgres holds\")\n",
			w, partitions.MB(w.MinSharedBuffers()))
	default:
		fmt.Fprintln(out, w)
	}
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tuneGC()
	serveDebug(cfg.DebugAddr, log)
	a, err := app.Build(options(cfg, log))
	if err != nil {
		return err
	}
	if cfg.AutoMigrate {
		if err := (&instance{App: a, cfg: cfg}).migrate(ctx, io.Discard); err != nil {
			return err
		}
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	if _, err := a.Start(workCtx); err != nil {
		stopWork()
		return err
	}
	edge, err := a.Server.Listen(cfg.edge())
	if err != nil {
		stopWork()
		a.Wait()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- edge.Serve() }()
	log.Info("credits serving", "addr", cfg.Addr, "router_addr", cfg.RouterAddr, "playground", cfg.PublicURL+"/")
	if !a.Alerts.EmailEnabled() {
		log.Warn("SMTP_URL is not set: alert emails are logged, not sent")
	}
	if cfg.WebhookAllowPrivate {
		log.Warn("WEBHOOK_ALLOW_PRIVATE is set: webhooks may reach private and loopback addresses (development and tests only)")
	}
	select {
	case err := <-errc:
		stopWork()
		a.Wait()
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, let in-flight requests (and so every
	// usage batch being committed) finish, then stop the background work and
	// close the database.
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = edge.Shutdown(shutCtx)
	stopWork()
	a.Wait()
	return err
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

func (a *instance) createWorkspace(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("workspace create", flag.ContinueOnError)
	name := fs.String("name", "", "workspace name")
	plan := fs.String("plan", billing.DefaultPlan, "plan id (free, pro, enterprise)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := a.Billing.CreateWorkspace(ctx, *name, *plan)
	if err != nil {
		return err
	}
	raw, _, err := a.Tokens.Create(ctx, id, auth.RoleOwner, nil)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(map[string]string{"workspace_id": id.String(), "token": raw})
	}
	fmt.Fprintf(out, "workspace %s created\nowner token (shown once): %s\n", id, raw)
	return nil
}

func (a *instance) createToken(ctx context.Context, args []string, out io.Writer) error {
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
	raw, id, err := a.Tokens.Create(ctx, ws, role, expires)
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

func (a *instance) revokeToken(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	idFlag := fs.String("id", "", "token id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := uuid.Parse(*idFlag)
	if err != nil {
		return fmt.Errorf("--id: %w", err)
	}
	if err := a.Tokens.Revoke(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(out, "token %s revoked\n", id)
	return nil
}

// adjust is `credits credits grant` (debit false) and `credits credits
// debit`: --amount is positive either way; the command says which way the
// money goes.
func (a *instance) adjust(ctx context.Context, args []string, out io.Writer, debit bool) error {
	verb := map[bool]string{false: "grant", true: "debit"}[debit]
	fs := flag.NewFlagSet("credits "+verb, flag.ContinueOnError)
	wsFlag := fs.String("workspace", "", "workspace id")
	amountFlag := fs.String("amount", "", "amount in USD, e.g. 25.00 (positive)")
	reason := fs.String("reason", "", "why, for the ledger")
	ref := fs.String("reference", "", "idempotency reference (default: a new one)")
	confirm := fs.Bool("confirm-large", false, "confirm an amount above the large-adjustment bound")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ws, err := uuid.Parse(*wsFlag)
	if err != nil {
		return fmt.Errorf("--workspace: %w", err)
	}
	amount, err := money.ParseScale(*amountFlag, 2)
	if err != nil {
		return fmt.Errorf("--amount %q: %w (whole cents, e.g. 25.00)", *amountFlag, err)
	}
	if amount <= 0 {
		return fmt.Errorf("--amount must be positive; to take credit away use `credits credits debit`")
	}
	if debit {
		amount = -amount
	}
	res, err := a.Billing.Adjust(ctx, billing.Adjustment{WorkspaceID: ws, Amount: amount, Reason: *reason, Reference: *ref, ConfirmLarge: *confirm})
	if err != nil {
		return err
	}
	b := res.Balance
	if res.AlreadyApplied {
		fmt.Fprintf(out, "reference %q was already applied with this amount; nothing changed; balance %s USD (blocked: %v)\n", *ref, b.Amount, b.Blocked())
		return nil
	}
	fmt.Fprintf(out, "%sed %s USD to %s; balance %s USD (blocked: %v)\n", map[bool]string{false: "grant", true: "debit"}[debit], amount, ws, b.Amount, b.Blocked())
	return nil
}

// refund refunds a purchase through the payment provider: all of what is
// not yet refunded, or --amount. After an unknown outcome, --resume
// finishes that refund (same idempotency key) instead of making another.
func (a *instance) refund(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("refund", flag.ContinueOnError)
	txn := fs.String("transaction", "", "the purchase: its transaction id (txn_…) or uuid")
	amountFlag := fs.String("amount", "", "USD to refund, e.g. 10.00 (default: all not yet refunded)")
	reason := fs.String("reason", "", "why; printed on the credit note")
	allowNegative := fs.Bool("allow-negative", false, "refund even if the balance goes below zero (the workspace is then blocked)")
	resume := fs.String("resume", "", "finish this refund, whose outcome was unknown (sent again under its own idempotency key)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := uuid.Parse(strings.TrimPrefix(*txn, "txn_"))
	if err != nil {
		return fmt.Errorf("--transaction %q: a transaction id (txn_…) or uuid is required", *txn)
	}
	req := billing.RefundRequest{PurchaseID: id, Reason: *reason, AllowNegative: *allowNegative}
	if *resume != "" {
		r, err := uuid.Parse(*resume)
		if err != nil {
			return fmt.Errorf("--resume %q: a refund id is required", *resume)
		}
		req.Resume = &r
	}
	if *amountFlag != "" {
		amount, err := money.Parse(*amountFlag)
		if err != nil {
			return fmt.Errorf("--amount %q: %w", *amountFlag, err)
		}
		req.Amount = &amount
	}
	res, err := a.Billing.RefundPurchase(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(map[string]any{"refund_id": res.Refund.ID, "processor_id": res.Refund.ProcessorID,
			"amount": res.Refund.Amount.String(), "credit_note": res.CreditNote.Number, "credit_note_id": res.CreditNote.ID,
			"balance": res.Balance.Amount.String(), "blocked": res.Balance.Blocked()})
	}
	fmt.Fprintf(out, "refunded %s USD of transaction txn_%s (refund %s, credit note %s); balance %s USD (blocked: %v)\n",
		res.Refund.Amount, id, res.Refund.ProcessorID, res.CreditNote.Number, res.Balance.Amount, res.Balance.Blocked())
	return nil
}

func (a *instance) reconcile(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	since := fs.String("since", time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339), "window start (RFC 3339)")
	until := fs.String("until", time.Now().UTC().Format(time.RFC3339), "window end (RFC 3339)")
	fix := fs.Bool("fix", false, "repair differences through the ledger")
	allowSandbox := fs.Bool("allow-sandbox", false, "reconcile against the in-process sandbox (it knows no charges of other processes)")
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
	if a.Sandbox != nil && !*allowSandbox {
		// The sandbox lives in one process: this one has seen no charge, so
		// every purchase would look credited without a charge, and --fix
		// would take them all back.
		return errors.New("no STRIPE_SECRET_KEY: reconcile compares with Stripe and refuses the sandbox (pass --allow-sandbox to run it anyway)")
	}
	report, err := a.Billing.Reconcile(ctx, from, to, *fix)
	if *asJSON {
		if jerr := json.NewEncoder(out).Encode(report); jerr != nil {
			return jerr
		}
	} else {
		for _, d := range report {
			refund := ""
			if d.RefundID != "" {
				refund = " refund " + d.RefundID
			}
			fmt.Fprintf(out, "%s purchase %s intent %s%s amount %s fixed=%v\n", d.Kind, d.PurchaseID, d.IntentID, refund, d.Amount, d.Fixed)
		}
		fmt.Fprintf(out, "%d differences between %s and %s\n", len(report), from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return err
}

func (a *instance) setPrice(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("price set", flag.ContinueOnError)
	model := fs.String("model", "", "model name")
	in := fs.String("input", "", "USD per 1M input tokens")
	outp := fs.String("output", "", "USD per 1M output tokens")
	cached := fs.String("cached", "", `USD per 1M cached input tokens, or "none" to price cached input as input (required when the version in force has one)`)
	from := fs.String("effective-from", "", "RFC 3339 time the price takes effect (default: now + the propagation bound, "+billing.PricePropagation.String()+")")
	force := fs.Bool("force", false, "allow an effective time sooner than the propagation bound (backdating)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	e := billing.PriceEdit{Force: *force, CachedSet: *cached != ""}
	p := &e.Price
	p.Model = *model
	var err error
	if p.InputPerMillion, err = money.Parse(*in); err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	if p.OutputPerMillion, err = money.Parse(*outp); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	if *cached != "" && *cached != "none" {
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
	if err := a.Billing.SetPrice(ctx, e); err != nil {
		return err
	}
	fmt.Fprintf(out, "price of %s set; running servers reload it at once (NOTIFY), at the latest within a minute\n", p.Model)
	return nil
}
