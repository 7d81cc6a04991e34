-- Issue 9: a replayed delivery carries the key of the replay that queued it (its window and kind),
-- so a replay is idempotent while it is queued and its rows take only retry slots.
ALTER TABLE deliveries ADD COLUMN replay text;
