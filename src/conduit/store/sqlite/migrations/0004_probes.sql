-- A failing connector is probed one event at a time: a probe may start once this time has passed
-- (it is the claim of the probe in flight, then the end of the connector's backoff; 0 = now).
ALTER TABLE dataconnectors ADD COLUMN probe_until REAL NOT NULL DEFAULT 0;
