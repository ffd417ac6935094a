-- Hand-written: usage_lock_weeks also takes the advisory event-id locks of
-- the instances that predate the week locks (20261130090000), shared.
--
-- Why: during a rolling upgrade, old instances (exclusive advisory lock
-- per workspace bucket: key 1970495847 = 'usag', then the bucket) and new
-- ones (week locks) would not exclude each other, so an event retried
-- across a Monday midnight through one of each could pass both lookups.
-- Taken shared, the buckets make an old instance's transaction and a new
-- one's wait for each other as two old ones did, while new ones still
-- never wait for one another (shared locks do not conflict). Drop the
-- argument once no instance older than 30 Nov 2026 can run.
DROP FUNCTION "usage_lock_weeks"(int[], int[]);

-- usage_lock_weeks takes, for the rest of the transaction: the advisory
-- event-id lock of each bucket in buckets, shared, in the order given;
-- then the lock of each week lock table number tables[i] in mode
-- modes[i]: 1 ROW EXCLUSIVE (record), 2 SHARE (look up), 3 SHARE ROW
-- EXCLUSIVE (both), in the order given. The caller sorts both, so two
-- transactions cannot deadlock on them.
CREATE FUNCTION "usage_lock_weeks"(tables int[], modes int[], buckets int[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	i int;
	b int;
BEGIN
	IF coalesce(array_length(tables, 1), 0) <> coalesce(array_length(modes, 1), 0) THEN
		RAISE EXCEPTION 'usage_lock_weeks: % tables, % modes', array_length(tables, 1), array_length(modes, 1);
	END IF;
	FOREACH b IN ARRAY coalesce(buckets, '{}') LOOP
		IF b IS NULL OR b NOT BETWEEN 0 AND 63 THEN
			RAISE EXCEPTION 'usage_lock_weeks: no event-id bucket %', b;
		END IF;
		PERFORM pg_advisory_xact_lock_shared(1970495847, b);
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(tables, 1), 0) LOOP
		IF tables[i] IS NULL OR tables[i] NOT BETWEEN 0 AND 3 OR modes[i] IS NULL OR modes[i] NOT BETWEEN 1 AND 3 THEN
			RAISE EXCEPTION 'usage_lock_weeks: no week lock % in mode %', tables[i], modes[i];
		END IF;
		EXECUTE format('LOCK TABLE %I IN %s MODE', 'usage_week_locks_' || tables[i],
			(ARRAY['ROW EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE'])[modes[i]]);
	END LOOP;
END $$;
