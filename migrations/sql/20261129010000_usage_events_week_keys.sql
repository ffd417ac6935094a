-- Hand-written (ent cannot declare partitioning): the idempotency key of
-- usage_events moves from the parent, (workspace_id, event_id,
-- occurred_at), to each partition, (workspace_id, event_id).
--
-- Why: a unique key on a partitioned parent must include the partition
-- key (occurred_at), so the database refused only verbatim re-deliveries,
-- and every event paid for a lookup of its id in its own week and the
-- week before (two index descents) to refuse re-stamped retries. Keyed by
-- (workspace_id, event_id) per week, the insert itself refuses an id its
-- week already holds (any two times of one week are less than 7 days
-- apart, so this is the dedupe window's rule, enforced by the database),
-- and only the neighbouring week is looked up (docs/scaling.md). The key
-- is also 8 bytes narrower per event.
--
-- The default partition gets the same key. It holds events of weeks that
-- have no partition (older than the service's first week): there an event
-- id is refused for as long as the row is kept, whatever the times. It
-- inherits the unpartitioned table's rows, which were unique by
-- (workspace_id, event_id); if an id was reused in it since, more than
-- 7 days apart, this migration stops on the duplicate key and names it.
--
-- partitions.Maintain creates each new week with this key.
ALTER TABLE "usage_events" DROP CONSTRAINT "usage_events_pkey";
DO $$
DECLARE
	p regclass;
BEGIN
	FOR p IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'usage_events'::regclass LOOP
		EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY ("workspace_id", "event_id")', p);
	END LOOP;
END $$;
