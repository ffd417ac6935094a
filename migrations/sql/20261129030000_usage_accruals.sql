-- Usage accrued but not yet settled into balances (billing/settle.go).
-- A usage transaction spanning many workspaces records its events and
-- writes one row here instead of one ledger entry, one balance update and
-- one rollup per workspace; the settler merges the rows of many
-- transactions and applies them, so a workspace's balance moves once per
-- settlement instead of once per report. One row per transaction: the
-- per-workspace sums are arrays (workspace_n indexes workspaces, from 1),
-- stored uncompressed (compressing them costs more than it saves here).
-- Rows live for one settlement interval; nothing else reads them.
CREATE TABLE "usage_accruals" (
  "batch" uuid NOT NULL,
  "created_at" timestamptz NOT NULL,
  "events" integer NOT NULL,
  "workspaces" uuid[] NOT NULL,
  "usage" bigint[] NOT NULL,
  "tracing" bigint[] NOT NULL,
  "released" bigint[] NOT NULL,
  "rollup_workspace_n" integer[] NOT NULL,
  "rollup_days" date[] NOT NULL,
  "rollup_models" text[] NOT NULL,
  "rollup_requests" bigint[] NOT NULL,
  "rollup_input_tokens" bigint[] NOT NULL,
  "rollup_output_tokens" bigint[] NOT NULL,
  "rollup_cached_input_tokens" bigint[] NOT NULL,
  "rollup_traces" bigint[] NOT NULL,
  "rollup_cost" bigint[] NOT NULL,
  PRIMARY KEY ("batch")
);
ALTER TABLE "usage_accruals" ALTER COLUMN "workspaces" SET STORAGE EXTERNAL, ALTER COLUMN "usage" SET STORAGE EXTERNAL,
  ALTER COLUMN "tracing" SET STORAGE EXTERNAL, ALTER COLUMN "released" SET STORAGE EXTERNAL,
  ALTER COLUMN "rollup_workspace_n" SET STORAGE EXTERNAL, ALTER COLUMN "rollup_days" SET STORAGE EXTERNAL,
  ALTER COLUMN "rollup_models" SET STORAGE EXTERNAL, ALTER COLUMN "rollup_requests" SET STORAGE EXTERNAL,
  ALTER COLUMN "rollup_input_tokens" SET STORAGE EXTERNAL, ALTER COLUMN "rollup_output_tokens" SET STORAGE EXTERNAL,
  ALTER COLUMN "rollup_cached_input_tokens" SET STORAGE EXTERNAL, ALTER COLUMN "rollup_traces" SET STORAGE EXTERNAL,
  ALTER COLUMN "rollup_cost" SET STORAGE EXTERNAL;
