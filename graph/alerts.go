package graph

import (
	"errors"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/graph/model"
)

// Global ids of webhook endpoints and deliveries.
const (
	endpointPrefix = "whep_"
	deliveryPrefix = "whdl_"
)

// alertsError gives an alerts error the shape presentError maps (billing's
// codes are the API's codes); anything else stays internal.
func alertsError(err error) error {
	var e *alerts.Error
	if errors.As(err, &e) {
		return &billing.Error{Code: billing.Code(e.Code), Field: e.Field, Message: e.Message}
	}
	return err
}

func notificationSettingsModel(s alerts.NotificationSettings) *model.NotificationSettings {
	return &model.NotificationSettings{LowBalanceThreshold: s.LowBalanceThreshold, Emails: s.Emails}
}

func endpointModel(e alerts.Endpoint) *model.WebhookEndpoint {
	return &model.WebhookEndpoint{ID: globalID(endpointPrefix, e.ID), URL: e.URL, CreatedAt: e.CreatedAt, Failing: e.FailingSince != nil,
		FailingSince: e.FailingSince}
}

func deliveryModel(d alerts.Delivery) *model.WebhookDelivery {
	m := &model.WebhookDelivery{ID: globalID(deliveryPrefix, d.ID), EventID: "evt_" + d.EventID.String(), EventType: string(d.EventType),
		URL: d.Target, Attempts: d.Attempts, LastError: optional(d.LastError), CreatedAt: d.CreatedAt, LastAttemptAt: d.LastAttemptAt,
		NextAttemptAt: d.NextAttemptAt, DeliveredAt: d.DeliveredAt}
	if d.EndpointID != nil {
		id := globalID(endpointPrefix, *d.EndpointID)
		m.EndpointID = &id
	}
	if d.LastStatus != 0 {
		m.LastStatusCode = &d.LastStatus
	}
	switch d.State {
	case "delivered":
		m.Status = model.WebhookDeliveryStatusDelivered
	case "failed":
		m.Status = model.WebhookDeliveryStatusFailed
	case "canceled":
		m.Status = model.WebhookDeliveryStatusCanceled
	default:
		m.Status = model.WebhookDeliveryStatusPending
	}
	return m
}
