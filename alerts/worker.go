package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/alertdelivery"
	"github.com/airouter/credits/ent/alertevent"
	"github.com/airouter/credits/ent/invoice"
	"github.com/airouter/credits/ent/notificationsetting"
	"github.com/airouter/credits/ent/webhookendpoint"
	"github.com/airouter/credits/ent/workspace"
)

// dispatchBatch bounds the events one dispatch transaction fans out.
const dispatchBatch = 100

// Run dispatches and delivers alerts until ctx ends. Any number of
// workers, in any number of processes, may run: each claims its events and
// deliveries with FOR UPDATE SKIP LOCKED.
func (s *Service) Run(ctx context.Context) {
	running.Lock()
	running.workers[s] = true
	running.Unlock()
	defer func() {
		running.Lock()
		delete(running.workers, s)
		running.Unlock()
	}()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("alerts worker", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// RunOnce dispatches every event recorded so far and makes one attempt at
// every delivery due by the service clock; attempted counts the attempts.
// Tests call it instead of Run and move the clock between calls.
func (s *Service) RunOnce(ctx context.Context) (attempted int, err error) {
	// Deliveries due go first; events are dispatched when none is left, a
	// batch at a time, so dispatching (which writes a delivery per
	// destination) keeps the pace of delivering instead of running ahead.
	for {
		started := time.Now()
		n, err := s.deliverDue(ctx)
		attempted += n
		if err != nil {
			return attempted, err
		}
		if n == 0 {
			dispatched, err := s.dispatch(ctx)
			if err != nil || dispatched == 0 {
				return attempted, err
			}
			continue
		}
		if err := s.pace(ctx, n, time.Since(started)); err != nil {
			return attempted, err
		}
	}
}

// pace waits out what is left of the time n attempts may take at MaxRate.
func (s *Service) pace(ctx context.Context, n int, took time.Duration) error {
	if s.cfg.MaxRate <= 0 || n == 0 {
		return nil
	}
	wait := time.Duration(float64(n)/s.cfg.MaxRate*float64(time.Second)) - took
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// dispatch fans a batch of recorded events out into deliveries: one to the
// billing emails (when there are any) and one per webhook endpoint, as they
// are now. It completes each event's data once (the workspace's name; a
// purchase's invoice, issued later in the transaction that recorded the
// event), so every delivery and every retry carries the same payload.
func (s *Service) dispatch(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	err := s.inWorkerTx(ctx, func(tx *ent.Tx) error {
		events, err := tx.AlertEvent.Query().Where(alertevent.DispatchedAtIsNil()).Order(alertevent.ByCreatedAt()).
			Limit(dispatchBatch).ForUpdate(entsql.WithLockAction(entsql.SkipLocked)).All(ctx)
		if err != nil || len(events) == 0 {
			return err
		}
		n = len(events)
		var wsIDs []uuid.UUID
		seen := map[uuid.UUID]bool{}
		for _, e := range events {
			if !seen[e.WorkspaceID] {
				seen[e.WorkspaceID] = true
				wsIDs = append(wsIDs, e.WorkspaceID)
			}
		}
		settings, err := tx.NotificationSetting.Query().Where(notificationsetting.WorkspaceIDIn(wsIDs...)).All(ctx)
		if err != nil {
			return fmt.Errorf("read notification settings: %w", err)
		}
		emails := map[uuid.UUID][]string{}
		for _, st := range settings {
			emails[st.WorkspaceID] = st.Emails
		}
		endpoints, err := tx.WebhookEndpoint.Query().Where(webhookendpoint.WorkspaceIDIn(wsIDs...)).All(ctx)
		if err != nil {
			return fmt.Errorf("read webhook endpoints: %w", err)
		}
		names := map[uuid.UUID]string{}
		wss, err := tx.Workspace.Query().Where(workspace.IDIn(wsIDs...)).Select(workspace.FieldID, workspace.FieldName).All(ctx)
		if err != nil {
			return fmt.Errorf("read workspace names: %w", err)
		}
		for _, w := range wss {
			names[w.ID] = w.Name
		}
		var deliveries []*ent.AlertDeliveryCreate
		ids, data := make([]string, len(events)), make([]string, len(events))
		for i, row := range events {
			e, err := s.complete(ctx, tx, eventOf(row), names[row.WorkspaceID])
			if err != nil {
				return err
			}
			raw, err := json.Marshal(e.Data)
			if err != nil {
				return err
			}
			ids[i], data[i] = row.ID.String(), string(raw)
			newDelivery := func() *ent.AlertDeliveryCreate {
				return tx.AlertDelivery.Create().SetWorkspaceID(row.WorkspaceID).SetEventID(row.ID).SetEventType(string(row.Type)).
					SetNextAttemptAt(now).SetCreatedAt(now)
			}
			if to := emails[row.WorkspaceID]; len(to) > 0 {
				deliveries = append(deliveries, newDelivery().SetChannel(alertdelivery.ChannelEmail).SetDestination("email").
					SetTarget(strings.Join(to, ", ")))
			}
			for _, ep := range endpoints {
				if ep.WorkspaceID == row.WorkspaceID {
					deliveries = append(deliveries, newDelivery().SetChannel(alertdelivery.ChannelWebhook).SetEndpointID(ep.ID).
						SetDestination(ep.ID.String()).SetTarget(ep.URL))
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_events e SET data = x.d::jsonb, dispatched_at = $3
			FROM unnest($1::uuid[], $2::text[]) AS x(id, d) WHERE e.id = x.id`, pq.Array(ids), pq.Array(data), now); err != nil {
			return fmt.Errorf("dispatch alerts: %w", err)
		}
		if len(deliveries) == 0 {
			return nil
		}
		return tx.AlertDelivery.CreateBulk(deliveries...).OnConflictColumns(alertdelivery.FieldWorkspaceID, alertdelivery.FieldEventID,
			alertdelivery.FieldDestination).DoNothing().Exec(ctx)
	})
	if err == nil && n > 0 {
		s.Wake() // the deliveries just written are due now
	}
	return n, err
}

func eventOf(row *ent.AlertEvent) Event {
	e := Event{ID: row.ID, WorkspaceID: row.WorkspaceID, Type: row.Type, Key: row.Key, CreatedAt: row.CreatedAt.UTC()}
	json.Unmarshal(row.Data, &e.Data) //nolint:errcheck // written by Record from Data; an unreadable field stays empty
	return e
}

// complete fills in what the transaction that recorded an event could not
// know yet.
func (s *Service) complete(ctx context.Context, tx *ent.Tx, e Event, workspaceName string) (Event, error) {
	e.Data.WorkspaceName = workspaceName
	if e.Type != PurchaseSucceeded || e.Data.Invoice != nil {
		return e, nil
	}
	purchaseID, err := uuid.Parse(strings.TrimPrefix(e.Data.TransactionID, "txn_"))
	if err != nil {
		return e, nil
	}
	inv, err := tx.Invoice.Query().Where(invoice.WorkspaceID(e.WorkspaceID), invoice.PurchaseID(purchaseID)).
		Select(invoice.FieldID, invoice.FieldNumber).Only(ctx)
	if ent.IsNotFound(err) {
		return e, nil
	}
	if err != nil {
		return e, fmt.Errorf("read invoice of purchase %s: %w", purchaseID, err)
	}
	// The same link as the API's Invoice.downloadUrl (the GraphQL id is "inv_<uuid>").
	e.Data.Invoice = &Invoice{ID: "inv_" + inv.ID.String(), Number: inv.Number,
		DownloadURL: s.cfg.PublicURL + "/invoices/" + inv.ID.String() + ".pdf"}
	return e, nil
}

// claimed is a delivery this worker leased for one attempt.
type claimed struct {
	*ent.AlertDelivery
	attempt int
	event   Event
	secret  string // webhook endpoint's; "" when the endpoint is gone
	failing bool   // the endpoint is marked failing
	status  int    // the attempt's HTTP status (0: none)
	err     error  // the attempt's failure; nil: delivered
}

// deliverDue leases the deliveries due now (at most a few per concurrent
// sender), attempts each once, in parallel, and records the outcomes. The
// lease (next_attempt_at moved past any attempt's end) is what keeps two
// workers from sending one delivery at once; a worker that dies mid-attempt
// leaves it to be retried when the lease ends.
func (s *Service) deliverDue(ctx context.Context) (int, error) {
	now := s.now()
	var batch []*claimed
	err := s.inWorkerTx(ctx, func(tx *ent.Tx) error {
		rows, err := tx.AlertDelivery.Query().Where(alertdelivery.StateEQ(alertdelivery.StatePending), alertdelivery.NextAttemptAtLTE(now)).
			Order(alertdelivery.ByNextAttemptAt()).Limit(4 * s.cfg.Concurrency).ForUpdate(entsql.WithLockAction(entsql.SkipLocked)).All(ctx)
		if err != nil || len(rows) == 0 {
			return err
		}
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
			batch = append(batch, &claimed{AlertDelivery: r, attempt: r.Attempts + 1})
		}
		return tx.AlertDelivery.Update().Where(alertdelivery.IDIn(ids...)).AddAttempts(1).SetLastAttemptAt(now).
			SetNextAttemptAt(now.Add(s.cfg.lease())).Exec(ctx)
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	if err := s.loadClaimed(ctx, batch); err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	var emails []*claimed
	for _, c := range batch {
		if c.Channel == alertdelivery.ChannelEmail {
			emails = append(emails, c)
		}
	}
	if len(emails) > 0 { // the batch's emails share one SMTP connection
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.sendEmails(ctx, emails)
		}()
	}
	sem := make(chan struct{}, s.cfg.Concurrency)
	for _, c := range batch {
		if c.Channel == alertdelivery.ChannelEmail {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.status, c.err = s.postWebhook(ctx, c)
		}()
	}
	wg.Wait()
	// Record even when ctx ended meanwhile: the outcomes are known now. One
	// transaction for the batch: one commit, not one per delivery.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return len(batch), s.inWorkerTx(rctx, func(tx *ent.Tx) error { return s.recordOutcomes(rctx, tx, batch) })
}

// loadClaimed reads the events and the endpoint secrets of a claimed batch.
func (s *Service) loadClaimed(ctx context.Context, batch []*claimed) error {
	var eventIDs, endpointIDs []uuid.UUID
	for _, c := range batch {
		eventIDs = append(eventIDs, c.EventID)
		if c.EndpointID != nil {
			endpointIDs = append(endpointIDs, *c.EndpointID)
		}
	}
	events, err := s.ent.AlertEvent.Query().Where(alertevent.IDIn(eventIDs...)).All(ctx)
	if err != nil {
		return fmt.Errorf("read alert events: %w", err)
	}
	byID := map[uuid.UUID]Event{}
	for _, e := range events {
		byID[e.ID] = eventOf(e)
	}
	endpoints := map[uuid.UUID]*ent.WebhookEndpoint{}
	if len(endpointIDs) > 0 {
		eps, err := s.ent.WebhookEndpoint.Query().Where(webhookendpoint.IDIn(endpointIDs...)).All(ctx)
		if err != nil {
			return fmt.Errorf("read webhook endpoints: %w", err)
		}
		for _, ep := range eps {
			endpoints[ep.ID] = ep
		}
	}
	for _, c := range batch {
		c.event = byID[c.EventID]
		if c.EndpointID != nil {
			if ep, ok := endpoints[*c.EndpointID]; ok {
				c.secret, c.failing = ep.Secret, ep.FailingSince != nil
			}
		}
	}
	return nil
}

// errEndpointGone cancels a delivery whose endpoint was deleted meanwhile.
var errEndpointGone = errors.New("endpoint deleted")

// sendEmails makes one attempt at each email delivery.
func (s *Service) sendEmails(ctx context.Context, cs []*claimed) {
	ms := make([]email, len(cs))
	for i, c := range cs {
		ms[i] = emailOf(c.event, s.cfg.From, strings.Split(c.Target, ", "))
	}
	for i, err := range s.mailer.send(ctx, ms) {
		cs[i].err = err
	}
}

// postWebhook makes one attempt at a webhook delivery.
func (s *Service) postWebhook(ctx context.Context, c *claimed) (status int, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	if c.secret == "" {
		return 0, errEndpointGone
	}
	body, err := webhookBody(c.event)
	if err != nil {
		return 0, err
	}
	return s.hooks.post(ctx, webhookAttempt{URL: c.Target, Secret: c.secret, MessageID: messageID(c.event), Timestamp: s.now(), Body: body})
}

// recordOutcomes records the batch's outcomes in one statement, for each
// delivery this worker still holds the lease of (attempts unchanged):
// delivered; or retried after the backoff; or, a day after the event,
// failed (and its webhook endpoint marked failing); or canceled (its
// endpoint was deleted). A successful delivery clears its endpoint's
// failing mark.
func (s *Service) recordOutcomes(ctx context.Context, tx *ent.Tx, batch []*claimed) error {
	now := s.now()
	n := len(batch)
	ids, states, errs, next := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	attempts, statuses := make([]int64, n), make([]int64, n)
	var recovered, failing []string // endpoint ids
	for i, c := range batch {
		ids[i], attempts[i], statuses[i] = c.ID.String(), int64(c.attempt), int64(c.status)
		switch {
		case c.err == nil:
			states[i] = string(alertdelivery.StateDelivered)
			if c.failing {
				recovered = append(recovered, c.EndpointID.String())
			}
			continue
		case errors.Is(c.err, errEndpointGone):
			states[i], errs[i] = string(alertdelivery.StateCanceled), c.err.Error()
			continue
		}
		s.log.Warn("alert delivery failed", "delivery", c.ID, "event", c.EventID, "channel", string(c.Channel), "attempt", c.attempt, "err", c.err)
		errs[i] = errorText(c.err)
		deadline := c.CreatedAt.Add(s.cfg.GiveUpAfter)
		if !now.Before(deadline) {
			states[i] = string(alertdelivery.StateFailed)
			if c.EndpointID != nil {
				failing = append(failing, c.EndpointID.String())
			}
			continue
		}
		states[i] = string(alertdelivery.StatePending)
		at := now.Add(s.backoff(c.attempt))
		if at.After(deadline) {
			at = deadline // one last attempt when the day ends
		}
		next[i] = at.Format(time.RFC3339Nano)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alert_deliveries d SET state = x.st, last_status = x.code, last_error = x.err,
			next_attempt_at = COALESCE(NULLIF(x.next, '')::timestamptz, d.next_attempt_at),
			delivered_at = CASE WHEN x.st = 'delivered' THEN $7::timestamptz END
		FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS x(id, att, st, code, err, next)
		WHERE d.id = x.id AND d.attempts = x.att AND d.state = 'pending'`,
		pq.Array(ids), pq.Array(attempts), pq.Array(states), pq.Array(statuses), pq.Array(errs), pq.Array(next), now); err != nil {
		return fmt.Errorf("record deliveries: %w", err)
	}
	if len(recovered) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ANY($1::uuid[])`, pq.Array(recovered)); err != nil {
			return fmt.Errorf("clear failing endpoints: %w", err)
		}
	}
	if len(failing) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = $2 WHERE id = ANY($1::uuid[]) AND failing_since IS NULL`,
			pq.Array(failing), now); err != nil {
			return fmt.Errorf("mark failing endpoints: %w", err)
		}
	}
	return nil
}

// backoff is the wait after the attempt-th failed attempt: Backoff,
// doubled after each further failure, at most MaxBackoff.
func (s *Service) backoff(attempt int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	if d > s.cfg.MaxBackoff {
		d = s.cfg.MaxBackoff
	}
	return d
}

// errorText is what the delivery log shows of an error: one line, bounded.
func errorText(err error) string {
	s := headerText(err.Error())
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}
