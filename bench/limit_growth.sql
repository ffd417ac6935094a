-- The growth control: limit_spread.sql's transaction (1,000 events in one
-- INSERT, one ledger row and one balance update per workspace), over the
-- workspaces listed in bench_control_workspaces (n from 1, id) instead of
-- the limit's own. On the grown database that list is the service's own
-- workspaces, whose keys hold the prefilled history; on a fresh database
-- it is the limit's workspaces. Run for 1 workspace and for all of them,
-- both ways, it measures how much Postgres itself slows at N events for
-- the writes the service makes.
\set ws0 random(0, :workspaces - 1)
BEGIN;
INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens, cached_input_tokens, traces, cost, trace_cost,
	batch, event_id, model)
SELECT w.id, now(), 1000 + g % 500, 200 + g % 100, 0, 0, 270000 + g % 100, 0, x.b, gen_random_uuid()::text, 'gpt-4o-mini'
FROM generate_series(1, 1000) AS g JOIN bench_control_workspaces AS w ON w.n = 1 + (:ws0 + g) % :workspaces,
	(SELECT gen_random_uuid() AS b) AS x;
INSERT INTO ledger_entries (workspace_id, kind, amount, balance_after, reference, description, created_at)
SELECT ws.id, 'usage', -270000, 0, x.b::text, 'usage batch of 1000 events', now()
FROM (SELECT DISTINCT w.id FROM generate_series(1, 1000) AS g JOIN bench_control_workspaces AS w ON w.n = 1 + (:ws0 + g) % :workspaces) AS ws,
	(SELECT gen_random_uuid() AS b) AS x;
UPDATE workspaces SET balance = balance - 270000, balance_version = balance_version + 1, balance_updated_at = now()
WHERE id IN (SELECT w.id FROM generate_series(1, 1000) AS g JOIN bench_control_workspaces AS w ON w.n = 1 + (:ws0 + g) % :workspaces);
END;
