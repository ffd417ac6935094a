// Package alerts tells a workspace's people, by email and by signed
// webhook, what happened to its balance before the router stops serving it.
//
// It owns the outbox (alert_events): Record writes an event in the
// transaction of the change that caused it (billing calls it from its
// ledger hook and from auto top-up's transactions), so a crash between
// commit and delivery neither loses nor invents an alert. A Worker, safe to
// run in any number of processes (FOR UPDATE SKIP LOCKED), fans each event
// out to one delivery per destination (the billing emails; each webhook
// endpoint) and sends them, retrying with exponential backoff for up to a
// day. A delivery is idempotent by the event's id: it is the webhook-id
// header and the email's Message-ID, and a delivered delivery is never sent
// again. Webhooks are signed per Standard Webhooks and sent through a
// client that refuses private, loopback and link-local addresses at connect
// time and never follows redirects (SSRF).
//
// It also owns what the owner configures: notification settings (the
// low-balance threshold and the billing emails), webhook endpoints and
// their delivery log.
//
// It decides no money rule: when a balance is "low" is billing's rule
// (billing/alerts.go); alerts only reads the threshold for it. It reads
// workspace names and invoices (when dispatching) and writes no other
// package's rows.
package alerts
