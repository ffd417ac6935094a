package alerts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/alertdelivery"
	"github.com/airouter/credits/ent/notificationsetting"
	"github.com/airouter/credits/ent/webhookendpoint"
	"github.com/airouter/credits/ent/workspace"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pagecursor"
)

// NotificationSettings is where a workspace's alerts go.
type NotificationSettings struct {
	// LowBalanceThreshold: balance.low when a deduction takes the balance
	// below it; nil: no low-balance alert.
	LowBalanceThreshold *money.Amount
	// Emails receive every alert; none: alerts go to webhooks only.
	Emails []string
}

const (
	// MaxEmails bounds the billing emails of a workspace.
	MaxEmails = 10
	// MaxEndpoints bounds the webhook endpoints of a workspace.
	MaxEndpoints = 10
	// maxEmailLen is RFC 5321's limit on a forward path.
	maxEmailLen = 254
	// maxURLLen bounds an endpoint URL.
	maxURLLen = 2048
)

// MaxThreshold bounds the low-balance threshold (USD 1,000,000).
var MaxThreshold = money.Dollars(1_000_000)

// GetNotificationSettings returns the workspace's settings (empty when never set).
func (s *Service) GetNotificationSettings(ctx context.Context, workspaceID uuid.UUID) (NotificationSettings, error) {
	row, err := s.ent.NotificationSetting.Query().Where(notificationsetting.WorkspaceID(workspaceID)).Only(ctx)
	if ent.IsNotFound(err) {
		return NotificationSettings{Emails: []string{}}, nil
	}
	if err != nil {
		return NotificationSettings{}, fmt.Errorf("read notification settings: %w", err)
	}
	return settingsOf(row), nil
}

func settingsOf(row *ent.NotificationSetting) NotificationSettings {
	out := NotificationSettings{Emails: row.Emails}
	if out.Emails == nil {
		out.Emails = []string{}
	}
	if row.LowBalanceThreshold != nil {
		t := money.Amount(*row.LowBalanceThreshold)
		out.LowBalanceThreshold = &t
	}
	return out
}

// SetNotificationSettings validates and saves the settings (all of them:
// a nil threshold turns the low-balance alert off).
func (s *Service) SetNotificationSettings(ctx context.Context, workspaceID uuid.UUID, in NotificationSettings) (NotificationSettings, error) {
	if t := in.LowBalanceThreshold; t != nil {
		if _, whole := t.CentsExact(); !whole || *t < 0 || *t > MaxThreshold {
			return NotificationSettings{}, badInput("lowBalanceThreshold", "lowBalanceThreshold must be between 0 and %s USD with at most 2 decimal places", MaxThreshold)
		}
	}
	emails, err := normalizeEmails(in.Emails)
	if err != nil {
		return NotificationSettings{}, err
	}
	c := s.ent.NotificationSetting.Create().SetWorkspaceID(workspaceID).SetEmails(emails).SetUpdatedAt(s.now())
	if in.LowBalanceThreshold != nil {
		c.SetLowBalanceThreshold(int64(*in.LowBalanceThreshold))
	}
	id, err := c.OnConflictColumns(notificationsetting.FieldWorkspaceID).UpdateNewValues().ID(ctx)
	if err != nil {
		return NotificationSettings{}, fmt.Errorf("save notification settings: %w", err)
	}
	if in.LowBalanceThreshold == nil {
		if err := s.ent.NotificationSetting.UpdateOneID(id).ClearLowBalanceThreshold().Exec(ctx); err != nil {
			return NotificationSettings{}, fmt.Errorf("save notification settings: %w", err)
		}
	}
	return s.GetNotificationSettings(ctx, workspaceID)
}

// normalizeEmails checks each address (a bare address: no display name,
// nothing a mail header could be bent with) and drops repeats.
func normalizeEmails(in []string) ([]string, error) {
	if len(in) > MaxEmails {
		return nil, badInput("emails", "at most %d emails", MaxEmails)
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, raw := range in {
		e := strings.TrimSpace(raw)
		if err := checkText("emails", e, maxEmailLen); err != nil {
			return nil, err
		}
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
			return nil, badInput("emails", "%q is not an email address (name@example.com)", e)
		}
		if k := strings.ToLower(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// checkText refuses what Postgres cannot store as text (invalid UTF-8,
// NUL) and any other control character, and bounds the length.
func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return badInput(field, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return badInput(field, "%s must not contain control characters (U+%04X)", field, r)
		}
	}
	if len(v) > max {
		return badInput(field, "%s is longer than %d bytes", field, max)
	}
	return nil
}

// Endpoint is a registered webhook endpoint (its secret is never shown again).
type Endpoint struct {
	ID        uuid.UUID
	URL       string
	CreatedAt time.Time
	// FailingSince is set when a delivery to it gave up after retrying for
	// a day; the next successful delivery clears it.
	FailingSince *time.Time
}

func endpointOf(e *ent.WebhookEndpoint) Endpoint {
	out := Endpoint{ID: e.ID, URL: e.URL, CreatedAt: e.CreatedAt.UTC()}
	if e.FailingSince != nil {
		t := e.FailingSince.UTC()
		out.FailingSince = &t
	}
	return out
}

// WebhookEndpoints lists the workspace's endpoints, oldest first.
func (s *Service) WebhookEndpoints(ctx context.Context, workspaceID uuid.UUID) ([]Endpoint, error) {
	rows, err := s.ent.WebhookEndpoint.Query().Where(webhookendpoint.WorkspaceID(workspaceID)).
		Order(webhookendpoint.ByCreatedAt(), webhookendpoint.ByID()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	out := make([]Endpoint, len(rows))
	for i, r := range rows {
		out[i] = endpointOf(r)
	}
	return out, nil
}

// CreateWebhookEndpoint registers url (https; see checkEndpointURL) and
// returns it with its signing secret, which is shown this once.
func (s *Service) CreateWebhookEndpoint(ctx context.Context, workspaceID uuid.UUID, rawURL string) (Endpoint, string, error) {
	u, err := checkEndpointURL(rawURL, s.cfg.AllowPrivate)
	if err != nil {
		return Endpoint{}, "", err
	}
	secret, err := newSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	var created *ent.WebhookEndpoint
	err = s.inTx(ctx, func(tx *ent.Tx) error {
		// Workspace first (the one lock order): concurrent creations are
		// counted one after another, so the limit holds.
		if _, err := tx.Workspace.Query().Where(workspace.ID(workspaceID)).ForUpdate().Select(workspace.FieldID).Only(ctx); err != nil {
			if ent.IsNotFound(err) {
				return notFound("workspace")
			}
			return fmt.Errorf("lock workspace: %w", err)
		}
		n, err := tx.WebhookEndpoint.Query().Where(webhookendpoint.WorkspaceID(workspaceID)).Count(ctx)
		if err != nil {
			return fmt.Errorf("count webhook endpoints: %w", err)
		}
		if n >= MaxEndpoints {
			return badInput("url", "at most %d webhook endpoints; delete one first", MaxEndpoints)
		}
		created, err = tx.WebhookEndpoint.Create().SetWorkspaceID(workspaceID).SetURL(u.String()).SetSecret(secret).
			SetCreatedAt(s.now()).Save(ctx)
		return err
	})
	if err != nil {
		return Endpoint{}, "", err
	}
	return endpointOf(created), secret, nil
}

// DeleteWebhookEndpoint removes an endpoint of the workspace (NOT_FOUND
// for any other) and cancels its pending deliveries; its delivery log stays.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, workspaceID, id uuid.UUID) error {
	return s.inTx(ctx, func(tx *ent.Tx) error {
		n, err := tx.WebhookEndpoint.Delete().Where(webhookendpoint.WorkspaceID(workspaceID), webhookendpoint.ID(id)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete webhook endpoint: %w", err)
		}
		if n == 0 {
			return notFound("webhook endpoint")
		}
		return tx.AlertDelivery.Update().Where(alertdelivery.WorkspaceID(workspaceID), alertdelivery.EndpointID(id),
			alertdelivery.StateEQ(alertdelivery.StatePending)).SetState(alertdelivery.StateCanceled).
			SetLastError("endpoint deleted").Exec(ctx)
	})
}

// newSecret is a Standard Webhooks secret: whsec_ and 32 random bytes in base64.
func newSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Delivery is one event sent (or being sent) to one destination.
type Delivery struct {
	ID            uuid.UUID
	EventID       uuid.UUID
	EventType     Type
	EndpointID    *uuid.UUID
	Target        string
	State         alertdelivery.State
	Attempts      int
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	LastAttemptAt *time.Time
	NextAttemptAt *time.Time // while pending
	DeliveredAt   *time.Time
}

// DeliveryPage is one page of the delivery log, newest first.
type DeliveryPage struct {
	Deliveries []Delivery
	// Cursors[i] is the cursor after Deliveries[i].
	Cursors []string
	HasNext bool
}

// MaxPageSize bounds `first`.
const MaxPageSize = 100

// WebhookDeliveries pages through the workspace's webhook deliveries,
// newest first, by keyset on (created_at, id).
func (s *Service) WebhookDeliveries(ctx context.Context, workspaceID uuid.UUID, first int, after string) (DeliveryPage, error) {
	if first < 0 || first > MaxPageSize {
		return DeliveryPage{}, badInput("first", "first must be between 0 and %d", MaxPageSize)
	}
	if first == 0 {
		first = 20
	}
	q := s.ent.AlertDelivery.Query().Where(alertdelivery.WorkspaceID(workspaceID), alertdelivery.ChannelEQ(alertdelivery.ChannelWebhook))
	if after != "" {
		at, id, err := pagecursor.Decode(after)
		if err != nil {
			return DeliveryPage{}, badInput("after", "after is not a cursor from this list")
		}
		q = q.Where(alertdelivery.Or(alertdelivery.CreatedAtLT(at), alertdelivery.And(alertdelivery.CreatedAt(at), alertdelivery.IDLT(id))))
	}
	rows, err := q.Order(alertdelivery.ByCreatedAt(entsql.OrderDesc()), alertdelivery.ByID(entsql.OrderDesc())).Limit(first + 1).All(ctx)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("list webhook deliveries: %w", err)
	}
	var page DeliveryPage
	if len(rows) > first {
		rows, page.HasNext = rows[:first], true
	}
	page.Deliveries = make([]Delivery, len(rows))
	for i, r := range rows {
		page.Deliveries[i] = deliveryOf(r)
		page.Cursors = append(page.Cursors, pagecursor.Encode(r.CreatedAt, r.ID))
	}
	return page, nil
}

func deliveryOf(r *ent.AlertDelivery) Delivery {
	d := Delivery{ID: r.ID, EventID: r.EventID, EventType: Type(r.EventType), EndpointID: r.EndpointID, Target: r.Target, State: r.State,
		Attempts: r.Attempts, LastStatus: r.LastStatus, LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(),
		LastAttemptAt: utc(r.LastAttemptAt), DeliveredAt: utc(r.DeliveredAt)}
	if r.State == alertdelivery.StatePending {
		d.NextAttemptAt = utc(&r.NextAttemptAt)
	}
	return d
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// inTx runs f in an ent transaction.
func (s *Service) inTx(ctx context.Context, f func(tx *ent.Tx) error) error {
	return s.inTxWith(ctx, false, f)
}

// inWorkerTx runs the worker's bookkeeping (dispatch, claims, outcomes)
// without waiting for its commit to reach the disk: after a database crash
// the last of it may be lost, and what that costs is an alert sent again,
// which receivers recognise by its id (delivery is at least once). Usage
// ingestion, which waits on those disk flushes, is spared the worker's.
func (s *Service) inWorkerTx(ctx context.Context, f func(tx *ent.Tx) error) error {
	return s.inTxWith(ctx, true, f)
}

func (s *Service) inTxWith(ctx context.Context, async bool, f func(tx *ent.Tx) error) error {
	tx, err := s.ent.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if async {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			tx.Rollback() //nolint:errcheck // the exec error is the one to report
			return fmt.Errorf("begin: %w", err)
		}
	}
	if err := f(tx); err != nil {
		tx.Rollback() //nolint:errcheck // f's error is the one to report
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
