-- Hand-written, as 20261128180000_citus_keys: the refunds and disputes
-- tables (added on a branch before that migration) are workspace-scoped,
-- so their primary keys include workspace_id too (migrations/citus_test.go).
-- Credit notes, like invoices, are numbered by a service-wide gapless
-- series and are listed as reference tables there.
ALTER TABLE "refunds" DROP CONSTRAINT "refunds_pkey", ADD PRIMARY KEY ("workspace_id", "id");
ALTER TABLE "disputes" DROP CONSTRAINT "disputes_pkey", ADD PRIMARY KEY ("workspace_id", "id");
