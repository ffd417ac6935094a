-- Hand-written (ent cannot declare partitioning): usage_events becomes a
-- table partitioned by UTC week of occurred_at, so the partition being
-- written keeps its index in memory however much history is kept, and
-- retention drops whole partitions instead of deleting rows. Why and how:
-- docs/scaling.md. The weekly partitions are created ahead of time and
-- dropped after USAGE_RETENTION by the service itself (partitions.Maintain);
-- usage_events_default takes any row no weekly partition covers (events
-- older than the service's first maintained week, or written before
-- maintenance ever ran), so an insert never fails for want of a partition.
-- ent/schema/usage_event.go mirrors the columns for reading with ent;
-- migrations/diff.go leaves usage_events and its partitions out of ent's
-- diff, so `make migration` never tries to "fix" this table.
--
-- Changes:
-- - primary key (workspace_id, event_id, occurred_at): the idempotency key
--   the database enforces (a unique key on a partitioned table must include
--   the partition key), led by workspace_id for Citus. The service also
--   refuses an event id its workspace recorded with an occurred_at up to
--   7 days apart, probing this key in the (at most 3) weeks around it.
-- - dropped: id (nothing reads it), created_at (the ledger entry the batch
--   column names carries the charge time), the (workspace_id, occurred_at)
--   index (no query reads events by time: the usage view reads
--   usage_rollups; a week's events go at once by partition), the foreign key to
--   workspaces (a check per inserted row; the usage transaction has just
--   locked every workspace it writes, and workspaces are never deleted).
-- - batch is a uuid (16 bytes, was 37 as text).
-- - fixed-width columns first, so the row has no alignment padding.
ALTER TABLE "usage_events" RENAME TO "usage_events_unpartitioned";
ALTER INDEX "usage_events_pkey" RENAME TO "usage_events_unpartitioned_pkey";
CREATE TABLE "usage_events" (
	"workspace_id" uuid NOT NULL,
	"occurred_at" timestamptz NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_input_tokens" bigint NOT NULL,
	"traces" bigint NOT NULL,
	"cost" bigint NOT NULL,
	"trace_cost" bigint NOT NULL,
	"batch" uuid NOT NULL,
	"event_id" character varying NOT NULL,
	"model" character varying NOT NULL,
	CONSTRAINT "usage_events_pkey" PRIMARY KEY ("workspace_id", "event_id", "occurred_at")
) PARTITION BY RANGE ("occurred_at");
CREATE TABLE "usage_events_default" PARTITION OF "usage_events" DEFAULT;
INSERT INTO "usage_events" ("workspace_id", "occurred_at", "input_tokens", "output_tokens", "cached_input_tokens", "traces",
	"cost", "trace_cost", "batch", "event_id", "model")
SELECT "workspace_id", "occurred_at", "input_tokens", "output_tokens", "cached_input_tokens", "traces",
	"cost", "trace_cost", "batch"::uuid, "event_id", "model" FROM "usage_events_unpartitioned";
DROP TABLE "usage_events_unpartitioned";
