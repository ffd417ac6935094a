-- Leave room on every page for the next version of its rows, so that the
-- rows updated in place all the time are updated HOT (same page, no index
-- entry): a workspace's balance moves on every usage transaction or
-- settlement, and a rollup row on every one of its workspace's. At 100 %
-- a page has no room, so nearly every update wrote the row to another
-- page and a new entry in every index (a make bench run: 890 of 120,000
-- balance updates and 1,132 of 110,000 rollup updates were HOT), and the
-- tables and their indexes bloated until autovacuum came by. Pages
-- written from now on keep the room; existing ones get it when rewritten
-- (VACUUM FULL, or as rows move).
ALTER TABLE "workspaces" SET (fillfactor = 50);
ALTER TABLE "usage_rollups" SET (fillfactor = 70);
