-- The service's ideal usage transaction, written out by hand: 1,000 events
-- of one workspace in one INSERT, one ledger row, one balance UPDATE. It
-- runs against usage_events as the service's own migrations create it
-- (same columns, keys and partitions), so it is the most this Postgres can
-- take for what the service writes. :workspaces is set with pgbench -D;
-- workspace n's id is 00000000-0000-4000-8000-<n, 12 digits>.
\set ws random(1, :workspaces)
BEGIN;
INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens, cached_input_tokens, traces, cost, trace_cost,
	batch, event_id, model)
SELECT x.w, now(), 1000 + g % 500, 200 + g % 100, 0, 0, 270000 + g % 100, 0, x.b, gen_random_uuid()::text, 'gpt-4o-mini'
FROM generate_series(1, 1000) AS g,
	(SELECT ('00000000-0000-4000-8000-' || lpad(:ws::text, 12, '0'))::uuid AS w, gen_random_uuid() AS b) AS x;
INSERT INTO ledger_entries (workspace_id, kind, amount, balance_after, reference, description, created_at)
VALUES (('00000000-0000-4000-8000-' || lpad(:ws::text, 12, '0'))::uuid, 'usage', -270000000, 0, gen_random_uuid()::text,
	'usage batch of 1000 events', now());
UPDATE workspaces SET balance = balance - 270000000, balance_version = balance_version + 1, balance_updated_at = now()
WHERE id = ('00000000-0000-4000-8000-' || lpad(:ws::text, 12, '0'))::uuid;
END;
