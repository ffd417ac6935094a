package alerts

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/airouter/credits/ent"
)

// Config is what an operator sets for alerts.
type Config struct {
	// SMTPURL is where email goes: smtp://user:pass@host:587 (STARTTLS
	// when the server offers it; credentials are only sent over TLS) or
	// smtps://user:pass@host:465 (TLS from the start). Empty: the worker
	// logs each email it would have sent instead.
	SMTPURL string
	// From is the sender address (default: alerts@ the PublicURL's host).
	From string
	// PublicURL is the base of links in alerts (invoice downloads).
	PublicURL string
	// AllowPrivate lets webhooks reach private and loopback addresses, and
	// plain http on loopback: development and tests only. Link-local
	// addresses (cloud metadata) stay refused.
	AllowPrivate bool
	// SendTimeout bounds one email or webhook attempt (default 10 s).
	SendTimeout time.Duration
	// Backoff is the wait after a failed attempt, doubled after each
	// further one up to MaxBackoff (defaults 30 s and 1 h).
	Backoff, MaxBackoff time.Duration
	// GiveUpAfter ends the retries of a delivery this long after its event
	// (default 24 h); a webhook endpoint whose delivery gave up is marked
	// failing.
	GiveUpAfter time.Duration
	// Poll is how often idle workers look for work (default 1 s); a commit
	// in this process that records an event wakes them at once.
	Poll time.Duration
	// Concurrency is how many deliveries one worker sends at once (default 8).
	Concurrency int
	// MaxRate paces one worker to at most this many delivery attempts a
	// second (0: unpaced), so that draining a backlog leaves the database
	// to usage ingestion (see docs in README).
	MaxRate float64
	// SMTPTLS overrides the TLS settings of the SMTP connection (tests
	// trust their own certificate with it).
	SMTPTLS *tls.Config
	// Clock is the service's clock (time.Now when nil).
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	if c.SendTimeout == 0 {
		c.SendTimeout = 10 * time.Second
	}
	if c.Backoff == 0 {
		c.Backoff = 30 * time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = time.Hour
	}
	if c.GiveUpAfter == 0 {
		c.GiveUpAfter = 24 * time.Hour
	}
	if c.Poll == 0 {
		c.Poll = time.Second
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.From == "" {
		host := "localhost"
		if u, err := url.Parse(c.PublicURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		c.From = "AI Router billing <alerts@" + host + ">"
	}
	return c
}

// lease is how long a claimed delivery is left to the worker sending it
// before another worker may take it over (its process died): longer than
// any attempt may take, so a live attempt is never sent twice.
func (c Config) lease() time.Duration { return 3*c.SendTimeout + 5*time.Second }

// Service is the alerts of one instance: settings, endpoints, the delivery
// log and the worker. Safe for concurrent use.
type Service struct {
	ent    *ent.Client
	cfg    Config
	log    *slog.Logger
	mailer mailer
	hooks  *webhookClient
	wake   chan struct{}
}

// New builds the service over client (the ledger's ent client). It fails
// only on a malformed SMTPURL.
func New(client *ent.Client, cfg Config, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	s := &Service{ent: client, cfg: cfg, log: log, hooks: newWebhookClient(cfg.AllowPrivate, cfg.SendTimeout), wake: make(chan struct{}, 1)}
	if cfg.SMTPURL == "" {
		s.mailer = logMailer{log: log}
		return s, nil
	}
	m, err := newSMTPMailer(cfg)
	if err != nil {
		return nil, err
	}
	s.mailer = m
	return s, nil
}

// EmailEnabled says whether email goes out over SMTP (false: it is logged).
func (s *Service) EmailEnabled() bool {
	_, logged := s.mailer.(logMailer)
	return !logged
}

// Wake nudges this process's worker (after a commit that recorded events);
// other processes find the events on their next poll.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) now() time.Time { return s.cfg.Clock().UTC().Truncate(time.Microsecond) }

// Code is a stable error code, the GraphQL extensions.code.
type Code string

const (
	CodeBadUserInput Code = "BAD_USER_INPUT"
	CodeNotFound     Code = "NOT_FOUND"
)

// Error is an error alerts means the caller to see; every other error is
// internal.
type Error struct {
	Code    Code
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

func badInput(field, format string, args ...any) *Error {
	return &Error{Code: CodeBadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error { return &Error{Code: CodeNotFound, Message: what + " not found"} }
