-- Hand-written: every workspace-scoped table's primary key and unique keys
-- include workspace_id, so that the schema can be distributed with Citus
-- by workspace_id as it is (docs/scaling.md; checked by
-- migrations/citus_test.go). Primary keys become (workspace_id, id): ent
-- cannot declare a composite id, so ent/schema keeps saying id, and
-- migrations/diff.go leaves primary keys out of ent's diff. ids stay
-- unique in practice (uuids, identities); every ON CONFLICT target of the
-- service already leads with workspace_id.
ALTER TABLE "billing_profiles" DROP CONSTRAINT "billing_profiles_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "payment_methods" DROP CONSTRAINT "payment_methods_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "purchases" DROP CONSTRAINT "purchases_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "trace_counters" DROP CONSTRAINT "trace_counters_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "auto_top_up_settings" DROP CONSTRAINT "auto_top_up_settings_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "top_ups" DROP CONSTRAINT "top_ups_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "holds" DROP CONSTRAINT "holds_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "usage_rollups" DROP CONSTRAINT "usage_rollups_pkey", ADD PRIMARY KEY ("workspace_id", "id");
-- A PaymentIntent id is unique per workspace (Stripe makes it unique
-- everywhere); the webhook still finds a purchase by it alone, through a
-- plain index.
DROP INDEX "purchase_payment_intent_id";
CREATE UNIQUE INDEX "purchase_workspace_id_payment_intent_id" ON "purchases" ("workspace_id", "payment_intent_id");
CREATE INDEX "purchase_payment_intent_id" ON "purchases" ("payment_intent_id");
