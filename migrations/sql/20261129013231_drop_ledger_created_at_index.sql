-- Drop index "ledgerentry_workspace_id_created_at" from table: "ledger_entries"
-- (no query reads entries by time; every usage transaction paid for it per
-- workspace). The diff also proposed re-creating "topup_workspace_id" with
-- the same definition (its predicate prints differently); left out.
DROP INDEX "ledgerentry_workspace_id_created_at";
