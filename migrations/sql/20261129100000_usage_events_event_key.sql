-- Hand-written (ent cannot declare partitioning): each week's idempotency
-- key becomes (workspace_id, event_key), where event_key is the first 16
-- bytes of the SHA-256 of the event id's UTF-8 bytes, instead of
-- (workspace_id, event_id).
--
-- Why: the key's index is the dedupe window's working set, the memory
-- every usage transaction touches at random (this week's key on insert,
-- last week's on lookup: docs/scaling.md). A router's ids are random and
-- of any length up to 255 bytes; a UUID's text is 37 bytes in the index,
-- its hash 16 and fixed, compared by memcmp instead of the collation's
-- strcoll. Index per event, a million UUID ids over 10,000 workspaces:
-- 97 bytes → 62.
--
-- Two ids with the same 128-bit hash are one event to the key: the second
-- is refused as a duplicate. For SHA-256 nobody knows how to make such a
-- pair, and by chance it takes about 2^64 events of one workspace.
--
-- The service computes event_key in Go (billing.eventKey: no hashing in
-- Postgres, which every usage transaction waits on); usage_event_key is
-- the same function in SQL, for this migration, for hand-written
-- inserts and for operators finding an event by id. It is IMMUTABLE
-- because convert_to to the database's own encoding is (the encoding of a
-- database never changes); a test holds the two implementations equal.
--
-- The column is added as a generated one and its expression dropped, so
-- that existing rows are computed by one rewrite of each partition (no
-- UPDATE, no dead rows), and writers set it from then on. The rewrite
-- takes usage_events' exclusive lock for its duration (seconds per
-- million events).
CREATE FUNCTION "usage_event_key"(event_id text) RETURNS uuid
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN encode(substring(sha256(convert_to(event_id, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid;
ALTER TABLE "usage_events" ADD COLUMN "event_key" uuid NOT NULL GENERATED ALWAYS AS (usage_event_key("event_id")) STORED;
ALTER TABLE "usage_events" ALTER COLUMN "event_key" DROP EXPRESSION;
DO $$
DECLARE
	p regclass;
	k name;
BEGIN
	FOR p, k IN SELECT i.inhrelid::regclass, c.conname FROM pg_inherits i
		LEFT JOIN pg_constraint c ON c.conrelid = i.inhrelid AND c.contype = 'p'
		WHERE i.inhparent = 'usage_events'::regclass LOOP
		IF k IS NOT NULL THEN
			EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', p, k);
		END IF;
		EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY ("workspace_id", "event_key")', p);
	END LOOP;
END $$;
