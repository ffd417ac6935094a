package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/airouter/credits/money"
)

// config is everything read from the environment (documented in README).
type config struct {
	DatabaseURL         string
	Addr                string
	PublicURL           string
	StripeSecretKey     string
	StripeWebhookSecret string
	StripeAPIBase       string
	MinPurchase         money.Amount
	MaxPurchase         money.Amount
	SellerName          string
	SellerAddress       string
	SellerTaxID         string
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
		SellerName:          env("SELLER_NAME", "AI Router Inc."),
		SellerAddress:       env("SELLER_ADDRESS", "548 Market St; San Francisco, CA 94104; United States"),
		SellerTaxID:         os.Getenv("SELLER_TAX_ID"),
		LogLevel:            env("LOG_LEVEL", "info"),
		DebugAddr:           os.Getenv("DEBUG_ADDR"),
		SMTPURL:             os.Getenv("SMTP_URL"),
		SMTPFrom:            os.Getenv("SMTP_FROM"),
	}
	c.PublicURL = env("PUBLIC_URL", "http://localhost"+c.Addr)
	var err error
	if c.MinPurchase, err = money.ParseScale(env("MIN_PURCHASE", "5.00"), 2); err != nil {
		return c, fmt.Errorf("MIN_PURCHASE: %w", err)
	}
	if c.MaxPurchase, err = money.ParseScale(env("MAX_PURCHASE", "10000.00"), 2); err != nil {
		return c, fmt.Errorf("MAX_PURCHASE: %w", err)
	}
	if c.MaxPurchase < c.MinPurchase {
		return c, fmt.Errorf("MAX_PURCHASE %s is below MIN_PURCHASE %s", c.MaxPurchase, c.MinPurchase)
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

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
