-- reverse: create index "usageevent_workspace_id_occurred_at" to table: "usage_events"
DROP INDEX "usageevent_workspace_id_occurred_at";
-- reverse: create index "usageevent_workspace_id_event_id" to table: "usage_events"
DROP INDEX "usageevent_workspace_id_event_id";
-- reverse: create "usage_events" table
DROP TABLE "usage_events";
-- reverse: create index "tracecounter_workspace_id_month" to table: "trace_counters"
DROP INDEX "tracecounter_workspace_id_month";
-- reverse: create "trace_counters" table
DROP TABLE "trace_counters";
-- reverse: create index "tokens_hash_key" to table: "tokens"
DROP INDEX "tokens_hash_key";
-- reverse: create "tokens" table
DROP TABLE "tokens";
-- reverse: create index "ledgerentry_workspace_id_kind_reference" to table: "ledger_entries"
DROP INDEX "ledgerentry_workspace_id_kind_reference";
-- reverse: create index "ledgerentry_workspace_id_created_at" to table: "ledger_entries"
DROP INDEX "ledgerentry_workspace_id_created_at";
-- reverse: create "ledger_entries" table
DROP TABLE "ledger_entries";
-- reverse: create "workspaces" table
DROP TABLE "workspaces";
-- reverse: create "plans" table
DROP TABLE "plans";
-- reverse: create index "modelprice_model_effective_from" to table: "model_prices"
DROP INDEX "modelprice_model_effective_from";
-- reverse: create "model_prices" table
DROP TABLE "model_prices";
