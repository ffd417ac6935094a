package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"

	"github.com/airouter/credits/money"
)

// messageID is an event's id as receivers see it: the webhook-id header,
// and (with the sender's domain) the email's Message-ID.
func messageID(e Event) string { return "evt_" + e.ID.String() }

// webhookBody is the event as a webhook body, Standard Webhooks' shape:
// {"type", "timestamp", "data"}. It depends on the stored event alone, so
// every attempt sends the same bytes.
func webhookBody(e Event) ([]byte, error) {
	return json.Marshal(struct {
		Type      Type      `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      Data      `json:"data"`
	}{e.Type, e.CreatedAt.UTC(), e.Data})
}

// paragraph is one block of an email: text, or a labelled link.
type paragraph struct {
	Text  string
	Label string
	URL   string
}

// emailOf renders an event for the billing emails: a subject and
// paragraphs, as plain text and as HTML. No card data, no secrets.
func emailOf(e Event, from string, to []string) email {
	d := e.Data
	ws := d.WorkspaceName
	if ws == "" {
		ws = d.WorkspaceID
	}
	amount := func(a *money.Amount) string {
		if a == nil {
			return "an unknown amount"
		}
		return a.String() + " " + d.Currency
	}
	var subject string
	var body []paragraph
	switch e.Type {
	case BalanceLow:
		subject = fmt.Sprintf("Low balance: %s left in %s", amount(d.Balance), ws)
		body = []paragraph{
			{Text: fmt.Sprintf("The credit balance of workspace %s is %s, below the %s alert threshold you set.", ws, amount(d.Balance), amount(d.Threshold))},
			{Text: "When it reaches zero, every AI Router request of this workspace is refused until credits are added. Add credits, or turn on auto top-up, on the Credits page."},
		}
	case BalanceDepleted:
		subject = fmt.Sprintf("Balance used up: AI Router requests of %s are blocked", ws)
		body = []paragraph{
			{Text: fmt.Sprintf("The credit balance of workspace %s is %s. Every AI Router request of this workspace is refused until credits are added.", ws, amount(d.Balance))},
			{Text: "Add credits on the Credits page to resume at once."},
		}
	case AutoTopUpFailed:
		subject = fmt.Sprintf("Auto top-up failed for %s", ws)
		next := "It will be retried."
		if d.NextAttemptAt != nil {
			next = "It will be retried after " + d.NextAttemptAt.UTC().Format("2006-01-02 15:04 MST") + "."
		}
		body = []paragraph{
			{Text: fmt.Sprintf("Attempt %d to add %s of credits to workspace %s was declined: %s.", d.Attempt, amount(d.Amount), ws, d.Reason)},
			{Text: next + " To avoid an interruption, check the card or choose another one on the Credits page."},
		}
	case AutoTopUpPaused:
		subject = fmt.Sprintf("Auto top-up paused for %s", ws)
		body = []paragraph{
			{Text: fmt.Sprintf("Auto top-up of workspace %s has stopped: %s.", ws, d.Reason)},
			{Text: "No further charge will be attempted until you save the auto top-up settings (or buy credits) on the Credits page."},
		}
	case PurchaseSucceeded:
		subject = fmt.Sprintf("Payment received: %s of credits for %s", amount(d.Amount), ws)
		kind := "Your purchase"
		if d.TransactionType == "AUTO_TOP_UP" {
			kind = "An auto top-up"
		}
		body = []paragraph{{Text: fmt.Sprintf("%s of %s of credits for workspace %s succeeded; the credits are available now.", kind, amount(d.Amount), ws)}}
		if inv := d.Invoice; inv != nil {
			body = append(body, paragraph{Text: "Invoice " + inv.Number + " (sign in to download):", Label: "Download invoice " + inv.Number, URL: inv.DownloadURL})
		}
	default:
		subject = fmt.Sprintf("%s for %s", e.Type, ws)
	}
	body = append(body, paragraph{Text: fmt.Sprintf("Workspace: %s (%s). Alert %s, %s.", ws, d.WorkspaceID, e.Type, messageID(e))})
	return email{
		From: from, To: to, Subject: headerText("[AI Router] " + subject), Text: plainText(body), HTML: htmlText(subject, body),
		MessageID: messageID(e) + "@" + domainOf(from), Date: e.CreatedAt, EventID: messageID(e), EventType: e.Type,
	}
}

func plainText(body []paragraph) string {
	var b strings.Builder
	for _, p := range body {
		b.WriteString(p.Text)
		if p.URL != "" {
			b.WriteString("\n" + p.URL)
		}
		b.WriteString("\n\n")
	}
	b.WriteString("-- \nAI Router billing alerts. Change who receives them in the notification settings.\n")
	return b.String()
}

var htmlTemplate = template.Must(template.New("alert").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.4">
<h2>{{.Subject}}</h2>
{{range .Body}}<p>{{.Text}}{{if .URL}}<br><a href="{{.URL}}">{{.Label}}</a>{{end}}</p>
{{end}}<p style="color: #666">AI Router billing alerts. Change who receives them in the notification settings.</p>
</body></html>
`))

func htmlText(subject string, body []paragraph) string {
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, struct {
		Subject string
		Body    []paragraph
	}{subject, body}); err != nil {
		return "" // the template and its inputs are ours; Execute cannot fail on them
	}
	return b.String()
}

// headerText keeps a header value on one line and of a sane length, whatever
// a workspace name or an issuer's reason contains.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

func domainOf(addr string) string {
	addr = strings.TrimSuffix(strings.TrimSpace(addr), ">")
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}
