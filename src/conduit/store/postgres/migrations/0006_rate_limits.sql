-- Issue 9: an optional cap on one connector's pushes per second, a token bucket whose state lives
-- in the connector's row, so it is one bucket for the whole cluster.
ALTER TABLE dataconnectors ADD COLUMN rate_limit double precision NOT NULL DEFAULT 0;  -- 0 = none
ALTER TABLE dataconnectors ADD COLUMN rate_tokens double precision NOT NULL DEFAULT 0;
ALTER TABLE dataconnectors ADD COLUMN rate_at double precision NOT NULL DEFAULT 0;  -- 0 = full
