-- Hand-written (ent has no table locks nor functions): the week locks of
-- usage transactions, in place of the per-workspace advisory event-id
-- locks (billing/weeklocks.go has the rule).
--
-- Why: every usage transaction took an exclusive advisory lock on each of
-- its workspaces' 64 buckets, so that its lookup of the neighbouring week
-- saw every event recorded there before. A batch spread over a thousand
-- workspaces takes nearly all 64, so every two such transactions ran one
-- after the other, each waiting out the other's round trips. A week lock
-- is ROW EXCLUSIVE for recording into the week and SHARE for looking it
-- up: the two modes conflict with each other and not with themselves, so
-- live transactions (recording into this week, looking up the last) no
-- longer wait for one another, and a late event's transaction (recording
-- into last week) still waits for them, and they for it.
--
-- The tables hold no rows and nothing but usage_lock_weeks touches them
-- (a VACUUM or CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE,
-- which conflicts with SHARE: on the partitions themselves, every live
-- usage transaction would wait behind last week's lookup index build).
-- Week n (Mondays numbered from the Unix epoch) locks usage_week_locks_<n mod 4>.
CREATE TABLE "usage_week_locks_0" ();
CREATE TABLE "usage_week_locks_1" ();
CREATE TABLE "usage_week_locks_2" ();
CREATE TABLE "usage_week_locks_3" ();

-- usage_lock_weeks takes, for the rest of the transaction, the lock of
-- each table number tables[i] in mode modes[i]: 1 ROW EXCLUSIVE (record),
-- 2 SHARE (look up), 3 SHARE ROW EXCLUSIVE (both), in the order given (the
-- caller sorts by table, so two transactions cannot deadlock on them).
CREATE FUNCTION "usage_lock_weeks"(tables int[], modes int[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	i int;
BEGIN
	IF coalesce(array_length(tables, 1), 0) <> coalesce(array_length(modes, 1), 0) THEN
		RAISE EXCEPTION 'usage_lock_weeks: % tables, % modes', array_length(tables, 1), array_length(modes, 1);
	END IF;
	FOR i IN 1 .. coalesce(array_length(tables, 1), 0) LOOP
		IF tables[i] IS NULL OR tables[i] NOT BETWEEN 0 AND 3 OR modes[i] IS NULL OR modes[i] NOT BETWEEN 1 AND 3 THEN
			RAISE EXCEPTION 'usage_lock_weeks: no week lock % in mode %', tables[i], modes[i];
		END IF;
		EXECUTE format('LOCK TABLE %I IN %s MODE', 'usage_week_locks_' || tables[i],
			(ARRAY['ROW EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE'])[modes[i]]);
	END LOOP;
END $$;
