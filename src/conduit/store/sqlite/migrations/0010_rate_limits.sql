-- Issue 9: an optional cap on one connector's pushes per second, a token bucket whose state lives
-- in the connector's row (on PostgreSQL that makes it one bucket for the whole cluster).
ALTER TABLE dataconnectors ADD COLUMN rate_limit REAL NOT NULL DEFAULT 0;   -- pushes/s; 0 = none
ALTER TABLE dataconnectors ADD COLUMN rate_tokens REAL NOT NULL DEFAULT 0;
ALTER TABLE dataconnectors ADD COLUMN rate_at REAL NOT NULL DEFAULT 0;      -- 0 = a full bucket
