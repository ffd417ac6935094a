-- Earlier code could leave two default cards (concurrent addPaymentMethod
-- with makeDefault); keep the newest default of each workspace.
UPDATE "payment_methods" p SET "is_default" = false
WHERE p."is_default" AND EXISTS (SELECT 1 FROM "payment_methods" q WHERE q."workspace_id" = p."workspace_id" AND q."is_default"
  AND (q."created_at", q."id") > (p."created_at", p."id"));
-- Create index "payment_methods_one_default" to table: "payment_methods"
CREATE UNIQUE INDEX "payment_methods_one_default" ON "payment_methods" ("workspace_id") WHERE is_default;
-- Modify "purchases" table
ALTER TABLE "purchases" ADD COLUMN "card_exp_month" bigint NOT NULL DEFAULT 0, ADD COLUMN "card_exp_year" bigint NOT NULL DEFAULT 0, ADD COLUMN "save_card" boolean NOT NULL DEFAULT false;
