-- The ideal usage transaction for events spread over many workspaces, as
-- a router reports them (each report mixes its workspaces' calls): the
-- same 1,000 events in one INSERT, but one per workspace over 1,000
-- consecutive workspaces of :workspaces from a random start (fewer if
-- there are fewer), so one ledger row and one balance update per
-- workspace, each kind written by one statement. It is the least the service must write for that load.
\set ws0 random(0, :workspaces - 1)
BEGIN;
INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens, cached_input_tokens, traces, cost, trace_cost,
	batch, event_id, model)
SELECT ('00000000-0000-4000-8000-' || lpad((1 + (:ws0 + g) % :workspaces)::text, 12, '0'))::uuid, now(), 1000 + g % 500,
	200 + g % 100, 0, 0, 270000 + g % 100, 0, x.b, gen_random_uuid()::text, 'gpt-4o-mini'
FROM generate_series(1, 1000) AS g, (SELECT gen_random_uuid() AS b) AS x;
INSERT INTO ledger_entries (workspace_id, kind, amount, balance_after, reference, description, created_at)
SELECT w, 'usage', -270000, 0, x.b::text, 'usage batch of 1000 events', now()
FROM (SELECT DISTINCT ('00000000-0000-4000-8000-' || lpad((1 + (:ws0 + g) % :workspaces)::text, 12, '0'))::uuid AS w
	FROM generate_series(1, 1000) AS g) AS ws, (SELECT gen_random_uuid() AS b) AS x;
UPDATE workspaces SET balance = balance - 270000, balance_version = balance_version + 1, balance_updated_at = now()
WHERE id IN (SELECT ('00000000-0000-4000-8000-' || lpad((1 + (:ws0 + g) % :workspaces)::text, 12, '0'))::uuid
	FROM generate_series(1, 1000) AS g);
END;
