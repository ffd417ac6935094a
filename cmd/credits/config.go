package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/graph"
	"github.com/airouter/credits/links"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/server"
)

// config is everything read from the environment (documented in README).
type config struct {
	DatabaseURL         string
	Addr                string
	PublicURL           string
	StripeSecretKey     string
	StripeWebhookSecret string
	StripeAPIBase       string
	StripePublishable   string
	DownloadSigningKey  string
	MinPurchase         money.Amount
	MaxPurchase         money.Amount
	LargeAdjustment     money.Amount
	UsageRetention      time.Duration
	SettleInterval      time.Duration
	SellerName          string
	SellerAddress       string
	SellerTaxID         string
	SellerTaxIDType     string
	SellerCountry       string
	TaxMode             billing.TaxMode
	AutoMigrate         bool
	Introspection       bool
	AuthorizeMaxStale   time.Duration
	ShutdownTimeout     time.Duration
	LogLevel            string
	TopUpMaxDeclines    int
	TopUpBackoff        time.Duration
	TopUpMaxPerHour     int
	MutationsPerSecond  float64
	MutationBurst       int
	DebugAddr           string // pprof, off when empty

	// The edge (see server.EdgeConfig and graph.Limits).
	CORSAllowedOrigins     []string
	RouterAddr             string
	MaxConnections         int
	RouterMaxConnections   int
	ReadTimeout            time.Duration
	IdleTimeout            time.Duration
	BodyTimeout            time.Duration
	SubscriptionsPerSocket int
	SocketsPerToken        int

	// Alerts.
	SMTPURL             string // alert emails; unset: logged, not sent
	SMTPFrom            string
	WebhookAllowPrivate bool
	AlertsSendTimeout   time.Duration
	AlertsMaxRate       float64
}

func loadConfig() (config, error) {
	c := config{
		DatabaseURL:         env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/credits?sslmode=disable"),
		Addr:                env("ADDR", ":8080"),
		StripeSecretKey:     os.Getenv("STRIPE_SECRET_KEY"),
		StripeWebhookSecret: os.Getenv("STRIPE_WEBHOOK_SECRET"),
		StripeAPIBase:       os.Getenv("STRIPE_API_BASE"),
		StripePublishable:   os.Getenv("STRIPE_PUBLISHABLE_KEY"),
		DownloadSigningKey:  os.Getenv("DOWNLOAD_SIGNING_KEY"),
		SellerName:          env("SELLER_NAME", "AI Router Inc."),
		SellerAddress:       env("SELLER_ADDRESS", "548 Market St; San Francisco, CA 94104; United States"),
		SellerTaxID:         os.Getenv("SELLER_TAX_ID"),
		SellerTaxIDType:     os.Getenv("SELLER_TAX_ID_TYPE"),
		SellerCountry:       os.Getenv("SELLER_COUNTRY"),
		LogLevel:            env("LOG_LEVEL", "info"),
		DebugAddr:           os.Getenv("DEBUG_ADDR"),
		SMTPURL:             os.Getenv("SMTP_URL"),
		SMTPFrom:            os.Getenv("SMTP_FROM"),
	}
	c.PublicURL = env("PUBLIC_URL", defaultPublicURL(c.Addr))
	var err error
	if c.CORSAllowedOrigins, err = parseOrigins(os.Getenv("CORS_ALLOWED_ORIGINS")); err != nil {
		return c, fmt.Errorf("CORS_ALLOWED_ORIGINS: %w", err)
	}
	c.RouterAddr = os.Getenv("ROUTER_ADDR")
	for _, n := range []struct {
		key string
		def string
		to  *int
	}{
		{"MAX_CONNECTIONS", "auto", &c.MaxConnections},
		{"ROUTER_MAX_CONNECTIONS", "auto", &c.RouterMaxConnections},
		{"GRAPHQL_SUBSCRIPTIONS_PER_SOCKET", "20", &c.SubscriptionsPerSocket},
		{"GRAPHQL_SOCKETS_PER_TOKEN", "20", &c.SocketsPerToken},
	} {
		v := env(n.key, n.def)
		if v == "auto" { // 0: server.EdgeConfig derives it from the open-file limit
			continue
		}
		if *n.to, err = strconv.Atoi(v); err != nil || *n.to < 1 {
			return c, fmt.Errorf("%s: want a positive whole number, got %q", n.key, os.Getenv(n.key))
		}
	}
	for _, d := range []struct {
		key string
		def string
		to  *time.Duration
	}{
		{"HTTP_READ_TIMEOUT", "30s", &c.ReadTimeout},
		{"HTTP_IDLE_TIMEOUT", "120s", &c.IdleTimeout},
		{"USAGE_SETTLE_INTERVAL", "1s", &c.SettleInterval},
		{"HTTP_BODY_TIMEOUT", "10s", &c.BodyTimeout},
	} {
		if *d.to, err = time.ParseDuration(env(d.key, d.def)); err != nil || *d.to <= 0 {
			return c, fmt.Errorf("%s: want a positive duration such as 10s, got %q", d.key, os.Getenv(d.key))
		}
	}
	if c.MinPurchase, err = money.ParseScale(env("MIN_PURCHASE", "5.00"), 2); err != nil {
		return c, fmt.Errorf("MIN_PURCHASE: %w", err)
	}
	if c.MaxPurchase, err = money.ParseScale(env("MAX_PURCHASE", "10000.00"), 2); err != nil {
		return c, fmt.Errorf("MAX_PURCHASE: %w", err)
	}
	if c.UsageRetention, err = parseDays(env("USAGE_RETENTION", "400d")); err != nil {
		return c, fmt.Errorf("USAGE_RETENTION: %w", err)
	}
	if c.LargeAdjustment, err = money.ParseScale(env("LARGE_ADJUSTMENT", "1000.00"), 2); err != nil || c.LargeAdjustment <= 0 {
		return c, fmt.Errorf("LARGE_ADJUSTMENT: must be a positive amount such as 1000.00 (%v)", err)
	}
	switch {
	case c.DownloadSigningKey != "" && len(c.DownloadSigningKey) < links.MinKeyLen:
		return c, fmt.Errorf("DOWNLOAD_SIGNING_KEY must be at least %d characters (e.g. openssl rand -hex 32)", links.MinKeyLen)
	case c.DownloadSigningKey == "" && c.StripeSecretKey != "":
		// Real money means production: several instances must share the
		// key, and links must survive restarts.
		return c, errors.New("DOWNLOAD_SIGNING_KEY is required with STRIPE_SECRET_KEY (e.g. openssl rand -hex 32; the same on every instance)")
	}
	if c.MaxPurchase < c.MinPurchase {
		return c, fmt.Errorf("MAX_PURCHASE %s is below MIN_PURCHASE %s", c.MaxPurchase, c.MinPurchase)
	}
	if c.TaxMode, err = billing.ParseTaxMode(os.Getenv("TAX_MODE")); err != nil {
		return c, fmt.Errorf("TAX_MODE: %w", err)
	}
	if c.SellerCountry, err = sellerCountry(c.SellerCountry, c.SellerAddress); err != nil {
		return c, err
	}
	if err := billing.CheckSeller(c.seller()); err != nil {
		return c, err
	}
	if c.AutoMigrate, err = strconv.ParseBool(env("AUTO_MIGRATE", "false")); err != nil {
		return c, fmt.Errorf("AUTO_MIGRATE: %w", err)
	}
	if c.Introspection, err = strconv.ParseBool(env("GRAPHQL_INTROSPECTION", "true")); err != nil {
		return c, fmt.Errorf("GRAPHQL_INTROSPECTION: %w", err)
	}
	if c.AuthorizeMaxStale, err = time.ParseDuration(env("AUTHORIZE_MAX_STALE", "2s")); err != nil {
		return c, fmt.Errorf("AUTHORIZE_MAX_STALE: %w", err)
	}
	if c.ShutdownTimeout, err = time.ParseDuration(env("SHUTDOWN_TIMEOUT", "20s")); err != nil {
		return c, fmt.Errorf("SHUTDOWN_TIMEOUT: %w", err)
	}
	if c.TopUpMaxDeclines, err = strconv.Atoi(env("AUTO_TOP_UP_MAX_DECLINES", "3")); err != nil {
		return c, fmt.Errorf("AUTO_TOP_UP_MAX_DECLINES: %w", err)
	}
	if c.TopUpBackoff, err = time.ParseDuration(env("AUTO_TOP_UP_BACKOFF", "1h")); err != nil {
		return c, fmt.Errorf("AUTO_TOP_UP_BACKOFF: %w", err)
	}
	if c.TopUpMaxPerHour, err = strconv.Atoi(env("AUTO_TOP_UP_MAX_PER_HOUR", "5")); err != nil {
		return c, fmt.Errorf("AUTO_TOP_UP_MAX_PER_HOUR: %w", err)
	}
	if c.MutationsPerSecond, err = strconv.ParseFloat(env("GRAPHQL_MUTATIONS_PER_SECOND", "5"), 64); err != nil {
		return c, fmt.Errorf("GRAPHQL_MUTATIONS_PER_SECOND: %w", err)
	}
	if c.MutationBurst, err = strconv.Atoi(env("GRAPHQL_MUTATION_BURST", "20")); err != nil {
		return c, fmt.Errorf("GRAPHQL_MUTATION_BURST: %w", err)
	}
	if c.WebhookAllowPrivate, err = strconv.ParseBool(env("WEBHOOK_ALLOW_PRIVATE", "false")); err != nil {
		return c, fmt.Errorf("WEBHOOK_ALLOW_PRIVATE: %w", err)
	}
	if c.AlertsSendTimeout, err = time.ParseDuration(env("ALERTS_SEND_TIMEOUT", "10s")); err != nil || c.AlertsSendTimeout <= 0 {
		return c, fmt.Errorf("ALERTS_SEND_TIMEOUT: a positive duration, e.g. 10s")
	}
	if c.AlertsMaxRate, err = strconv.ParseFloat(env("ALERTS_MAX_RATE", "50"), 64); err != nil || c.AlertsMaxRate < 0 {
		return c, fmt.Errorf("ALERTS_MAX_RATE: deliveries per second, 0 for unpaced")
	}
	return c, nil
}

// defaultPublicURL is where a browser on this machine reaches ADDR: a
// wildcard or empty host is localhost; IPv6 hosts keep their brackets.
// scripts/public-url.sh applies the same rule for make run.
func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "http://localhost"
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// parseOrigins reads CORS_ALLOWED_ORIGINS: comma-separated exact origins
// (scheme://host[:port], no path). A wildcard is refused on purpose: the
// API's callers are known front ends.
func parseOrigins(v string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return nil, fmt.Errorf("%q is not an origin such as https://app.example.com", o)
		}
		out = append(out, o)
	}
	return out, nil
}

// graphLimits are the GraphQL limits with the configured ones applied.
func (c config) graphLimits() graph.Limits {
	l := graph.DefaultLimits
	l.Introspection = c.Introspection
	l.SubscriptionsPerSocket = c.SubscriptionsPerSocket
	l.SocketsPerToken = c.SocketsPerToken
	return l
}

// edge is the listeners' configuration.
func (c config) edge() server.EdgeConfig {
	return server.EdgeConfig{Addr: c.Addr, RouterAddr: c.RouterAddr, MaxConnections: c.MaxConnections,
		RouterMaxConnections: c.RouterMaxConnections, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: c.ReadTimeout, IdleTimeout: c.IdleTimeout}
}

// parseDays reads a duration that may be given in days ("400d"), as
// retention periods are, or as a Go duration ("9600h").
func parseDays(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// sellerCountry is SELLER_COUNTRY (an ISO code or an English country
// name), or else the country named by SELLER_ADDRESS's last line ("…;
// Germany"), or "" when that line names none.
func sellerCountry(country, address string) (string, error) {
	if country != "" {
		code, ok := billing.CountryCode(country)
		if !ok {
			return "", fmt.Errorf("SELLER_COUNTRY %q is neither an ISO 3166-1 code (DE) nor a country's English name", country)
		}
		return code, nil
	}
	if lines := splitLines(address); len(lines) > 0 {
		if code, ok := billing.CountryCode(lines[len(lines)-1]); ok {
			return code, nil
		}
	}
	return "", nil
}

// seller is who invoices are issued by, and under which tax rule.
func (c config) seller() billing.Seller {
	return billing.Seller{Name: c.SellerName, Address: splitLines(c.SellerAddress), Country: c.SellerCountry,
		TaxID: c.SellerTaxID, TaxIDType: c.SellerTaxIDType, TaxMode: c.TaxMode}
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
