package alerts_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/alerts/alertstest"
)

func TestEmail_LowBalanceReachesARealSMTPServerOverSTARTTLSWithTextAndHTML(t *testing.T) {
	h := newHarness(t)
	smtpd := alertstest.NewSMTPServer(t, "alerts", "s3cret pass")
	worker := h.alerts(t, alerts.Config{SMTPURL: smtpd.URL(), SMTPTLS: smtpd.ClientTLS, From: "AI Router billing <billing@credits.example>"})
	if !worker.EmailEnabled() {
		t.Fatal("SMTP_URL set but email is not enabled")
	}
	ws := h.workspace(t, "12.00", "10.00", "finance@acme.example", "cto@acme.example")
	h.debit(t, ws, "3.75") // 8.25: below 10.00

	if n := runOnce(t, worker); n != 1 {
		t.Fatalf("%d attempts, want 1 email", n)
	}
	m := smtpd.Wait(t, 1)[0]
	if !m.TLS || m.User != "alerts" {
		t.Fatalf("mail arrived without STARTTLS (%v) or authentication (%q)", m.TLS, m.User)
	}
	if got := strings.Join(m.To, ","); got != "finance@acme.example,cto@acme.example" {
		t.Fatalf("recipients %s", got)
	}
	subject, err := new(mimeDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if subject != "[AI Router] Low balance: 8.25 USD left in Acme Research" {
		t.Fatalf("subject %q", subject)
	}
	var eventID string
	if err := h.db.SQL.QueryRow(`SELECT 'evt_' || id FROM alert_events WHERE workspace_id = $1 AND type = 'balance.low'`, ws).Scan(&eventID); err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]string{
		"From": `"AI Router billing" <billing@credits.example>`, "Message-Id": "<" + eventID + "@credits.example>",
		"X-Credits-Event-Id": eventID, "X-Credits-Event-Type": "balance.low", "Auto-Submitted": "auto-generated",
	} {
		if got := m.Header.Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	if !strings.Contains(m.Text, "is 8.25 USD, below the 10.00 USD alert threshold") || !strings.Contains(m.HTML, "<h2>Low balance: 8.25 USD left in Acme Research</h2>") {
		t.Fatalf("text part:\n%s\nhtml part:\n%s", m.Text, m.HTML)
	}
	if strings.Contains(string(m.Raw), "s3cret") {
		t.Fatal("the SMTP password is in the message")
	}
	var headers strings.Builder
	for _, k := range []string{"Date", "From", "To", "Subject", "Message-Id", "Mime-Version", "Content-Type", "Auto-Submitted", "X-Credits-Event-Id", "X-Credits-Event-Type"} {
		headers.WriteString(k + ": " + m.Header.Get(k) + "\n")
	}
	t.Logf("received over STARTTLS as %q:\n%s\n--- text/plain part ---\n%s", m.User, headers.String(), m.Text)

	// Delivered once: later runs, even much later, send nothing more.
	h.clock.Advance(48 * time.Hour)
	if n := runOnce(t, worker); n != 0 || len(smtpd.Mails()) != 1 {
		t.Fatalf("a delivered email was attempted again (%d attempts, %d mails)", n, len(smtpd.Mails()))
	}
}

func TestEmail_WithoutSMTPURLTheWorkerLogsWhatItWouldHaveSent(t *testing.T) {
	h := newHarness(t)
	var logs bytes.Buffer
	h.log = slog.New(slog.NewTextHandler(&logs, nil))
	worker := h.alerts(t, alerts.Config{})
	if worker.EmailEnabled() {
		t.Fatal("email enabled without SMTP_URL")
	}
	ws := h.workspace(t, "5.00", "1.00", "finance@acme.example")
	h.debit(t, ws, "6.00") // −1.00: low and depleted

	if n := runOnce(t, worker); n != 2 {
		t.Fatalf("%d attempts, want 2 (balance.low, balance.depleted)", n)
	}
	out := logs.String()
	for _, want := range []string{"alert email not sent: SMTP_URL is not set", "to=finance@acme.example", "type=balance.low", "type=balance.depleted",
		"Balance used up: AI Router requests of Acme Research are blocked"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM alert_deliveries WHERE workspace_id = $1 AND state = 'delivered'`, ws); n != 2 {
		t.Fatalf("%d logged emails counted as delivered, want 2", n)
	}
}

func TestEmail_TemporaryRejectionIsRetriedAfterTheBackoff(t *testing.T) {
	h := newHarness(t)
	smtpd := alertstest.NewSMTPServer(t, "alerts", "pw")
	smtpd.Reject = &smtp.SMTPError{Code: 451, Message: "try again later"}
	worker := h.alerts(t, alerts.Config{SMTPURL: smtpd.URL(), SMTPTLS: smtpd.ClientTLS, Backoff: time.Minute})
	ws := h.workspace(t, "12.00", "10.00", "finance@acme.example")
	h.debit(t, ws, "5")
	runOnce(t, worker)
	if len(smtpd.Mails()) != 0 {
		t.Fatal("a rejected mail was recorded")
	}
	var lastError string
	if err := h.db.SQL.QueryRow(`SELECT last_error FROM alert_deliveries WHERE workspace_id = $1`, ws).Scan(&lastError); err != nil || !strings.Contains(lastError, "451") {
		t.Fatalf("last_error %q (%v)", lastError, err)
	}
	if n := runOnce(t, worker); n != 0 {
		t.Fatal("retried before the backoff")
	}
	smtpd.Reject = nil
	h.clock.Advance(time.Minute)
	runOnce(t, worker)
	if m := smtpd.Wait(t, 1); len(m) != 1 {
		t.Fatalf("%d mails", len(m))
	}
}

// TestEmail_HeaderInjectionThroughTheWorkspaceNameIsNeutralised: a name is
// whatever the operator typed; it must not add headers or recipients.
func TestEmail_HeaderInjectionThroughTheWorkspaceNameIsNeutralised(t *testing.T) {
	h := newHarness(t)
	smtpd := alertstest.NewSMTPServer(t, "alerts", "pw")
	worker := h.alerts(t, alerts.Config{SMTPURL: smtpd.URL(), SMTPTLS: smtpd.ClientTLS})
	ctx := context.Background()
	ws := h.workspace(t, "12.00", "10.00", "finance@acme.example")
	if _, err := h.db.SQL.Exec(`UPDATE workspaces SET name = $2 WHERE id = $1`, ws, "Evil\r\nBcc: victim@else.example\r\n\r\n<script>x</script>"); err != nil {
		t.Fatal(err)
	}
	h.debit(t, ws, "5")
	if _, err := worker.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	m := smtpd.Wait(t, 1)[0]
	if len(m.To) != 1 || m.Header.Get("Bcc") != "" {
		t.Fatalf("recipients %v, Bcc %q", m.To, m.Header.Get("Bcc"))
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Fatal("the workspace name reached the HTML part unescaped")
	}
}

// mimeDecoder decodes RFC 2047 encoded words (go-mail Q-encodes non-ASCII subjects).
type mimeDecoder = mime.WordDecoder

func TestEmail_ABatchOfAlertsSharesOneConnectionAndEachArrivesOnce(t *testing.T) {
	h := newHarness(t)
	smtpd := alertstest.NewSMTPServer(t, "alerts", "pw")
	worker := h.alerts(t, alerts.Config{SMTPURL: smtpd.URL(), SMTPTLS: smtpd.ClientTLS})
	for i := 0; i < 5; i++ {
		ws := h.workspace(t, "12.00", "10.00", fmt.Sprintf("finance%d@acme.example", i))
		h.debit(t, ws, "13") // low and depleted
	}
	if n := runOnce(t, worker); n != 10 {
		t.Fatalf("%d attempts, want 10", n)
	}
	ids := map[string]bool{}
	for _, m := range smtpd.Wait(t, 10) {
		ids[m.Header.Get("Message-Id")] = true
	}
	if len(ids) != 10 || len(smtpd.Mails()) != 10 {
		t.Fatalf("%d distinct messages of %d", len(ids), len(smtpd.Mails()))
	}
}
