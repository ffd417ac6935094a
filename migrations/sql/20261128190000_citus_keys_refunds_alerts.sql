-- Hand-written, as 20261128180000_citus_keys: the refunds, disputes and alert
-- tables (added on branches before that migration) are workspace-scoped,
-- so their primary keys include workspace_id too (migrations/citus_test.go).
-- Credit notes, like invoices, are numbered by a service-wide gapless
-- series and are listed as reference tables there.
ALTER TABLE "refunds" DROP CONSTRAINT "refunds_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "disputes" DROP CONSTRAINT "disputes_pkey", ADD PRIMARY KEY ("workspace_id", "id");
-- The alert tables (outbox, deliveries, endpoints, settings) likewise.
ALTER TABLE "alert_events" DROP CONSTRAINT "alert_events_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "alert_deliveries" DROP CONSTRAINT "alert_deliveries_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "webhook_endpoints" DROP CONSTRAINT "webhook_endpoints_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "notification_settings" DROP CONSTRAINT "notification_settings_pkey", ADD PRIMARY KEY ("workspace_id", "id");
