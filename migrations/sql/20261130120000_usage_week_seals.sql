-- Hand-written (ent has no triggers nor functions): seals of finished
-- weeks, for the in-memory filter each instance keeps of last week's
-- event ids (billing/weekfilter.go), so that a live event's duplicate
-- lookup of last week reads Postgres only when the filter says the id may
-- be there.
--
-- A filter built from a snapshot is complete only as long as nothing is
-- added to the week after it. Sealing a week (partitions.Seal, an hour
-- after it ends) gives its partition a row trigger that counts every
-- transaction inserting into it from then on, whoever inserts (a late
-- event, an older instance, an operator), in usage_week_seals.late_writes. The
-- seal's CREATE TRIGGER waits for the inserts running into the partition
-- and holds off new ones until it commits, so every insert either
-- committed before the seal or is counted. A filter records the count it
-- was built at (read in the same snapshot as the ids), a usage
-- transaction reads the count after its week locks, and uses the filter
-- only when the two agree.
CREATE TABLE "usage_week_seals" (
	"week" date PRIMARY KEY, -- the week's Monday (UTC)
	"late_writes" bigint NOT NULL DEFAULT 0, -- transactions that inserted into the week since the seal
	"sealed_at" timestamptz NOT NULL DEFAULT now()
);

-- usage_week_late_write is the sealed partition's AFTER INSERT row
-- trigger; its argument is the week's Monday. It counts transactions, not
-- events: the first event a transaction inserts into the week adds one and
-- marks the transaction (a setting local to it, undone with it), so the
-- rest of its events cost a setting's read. Updating the one row per
-- event made a bulk insert quadratic: each update of a row the
-- transaction has already updated walks the chain of its versions (seen:
-- a million-event insert into a sealed week did not finish).
CREATE FUNCTION "usage_week_late_write"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	mark text := 'credits.late_write_' || replace(TG_ARGV[0], '-', '');
BEGIN
	IF current_setting(mark, true) IS DISTINCT FROM 'y' THEN
		UPDATE usage_week_seals SET late_writes = late_writes + 1 WHERE week = TG_ARGV[0]::date;
		PERFORM set_config(mark, 'y', true);
	END IF;
	RETURN NULL;
END $$;

-- usage_lock_weeks with sealed: takes the locks as the three-argument
-- form does, then returns the late_writes of the week starting on sealed
-- (NULL when it is not sealed), read after the locks: the statement's
-- own snapshot predates them, and a late event committed while this
-- transaction waited for its locks must be counted.
CREATE FUNCTION "usage_lock_weeks"(tables int[], modes int[], buckets int[], sealed date) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM usage_lock_weeks(tables, modes, buckets);
	SELECT late_writes INTO n FROM usage_week_seals WHERE week = sealed;
	RETURN n;
END $$;
