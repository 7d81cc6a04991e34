-- Issue 9: every delivery that leaves the queue without a 2xx (expired at 12 hours, dropped by a
-- disable) is kept as a dead letter, as long as event history (31 days by default), so users can
-- see what failed and replay it.
ALTER TABLE deliveries ADD COLUMN last_error TEXT;  -- error class of its latest failed attempt
CREATE TABLE dead_letters (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    connector_id TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_time   REAL NOT NULL,   -- when the event entered the queue
    at           REAL NOT NULL,   -- when it left the queue undelivered
    reason       TEXT NOT NULL,   -- EXPIRED | USER_DISABLED | SYSTEM_DISABLED
    attempts     INTEGER NOT NULL,
    last_error   TEXT
);
CREATE INDEX dead_letters_by_connector ON dead_letters(connector_id, at);
CREATE INDEX dead_letters_by_time ON dead_letters(at);
