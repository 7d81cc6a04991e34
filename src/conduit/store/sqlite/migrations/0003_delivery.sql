-- Data Connectors, their per-connector delivery queue, and the log of delivery attempts.

CREATE TABLE dataconnectors (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    display_name     TEXT NOT NULL DEFAULT '',
    type             TEXT NOT NULL DEFAULT 'HTTP_PUSH',
    status           TEXT NOT NULL DEFAULT 'ACTIVE',
    events           TEXT NOT NULL DEFAULT '[]',   -- JSON array of event types; [] = all
    labels           TEXT NOT NULL DEFAULT '[]',   -- JSON array of label keys to forward
    url              TEXT NOT NULL,
    signature_secret BLOB,                          -- encrypted; NULL = unsigned
    headers          TEXT NOT NULL DEFAULT '{}',   -- JSON object
    create_time      REAL NOT NULL,
    update_time      REAL NOT NULL,
    -- delivery health, owned by the dispatcher
    failing_since    REAL,                          -- first failure after the last success; NULL = healthy
    last_success     REAL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dataconnectors_by_project ON dataconnectors(project_id);

-- One row per (connector, event) still to be delivered. body holds the exact bytes every attempt sends.
-- A row may be claimed once both next_attempt and lease_until have passed; a claim (or the birth claim a
-- row gets at enqueue, for the local dispatcher) moves lease_until past the attempt's timeout, so a
-- dispatcher that dies mid-flight leaves rows that simply become due again.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- commit order on SQLite: the dispatcher reads new rows by id
    connector_id  TEXT NOT NULL REFERENCES dataconnectors(id) ON DELETE CASCADE,
    event_id      TEXT NOT NULL,
    event_time    REAL NOT NULL,                   -- when the event was received; 12-hour expiry counts from here
    body          BLOB NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,      -- attempts made so far
    next_attempt  REAL NOT NULL,
    lease_until   REAL NOT NULL DEFAULT 0
);
-- "What is due for this connector, earliest first": the claim query's index, and the cascade's.
CREATE INDEX deliveries_due ON deliveries(connector_id, max(next_attempt, lease_until));
-- The 12-hour expiry sweep.
CREATE INDEX deliveries_by_age ON deliveries(event_time);

CREATE TABLE delivery_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    connector_id TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    at           REAL NOT NULL,
    success      INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,                             -- timeout / connection_refused / tls / dns / redirect / ...
    latency      REAL NOT NULL                     -- seconds
);
CREATE INDEX attempts_by_connector ON delivery_attempts(connector_id, at);
CREATE INDEX attempts_by_time ON delivery_attempts(at);      -- the 24-hour pruning

-- Counters that outlive the rows they count (expired and dropped deliveries).
CREATE TABLE delivery_counters (
    connector_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connector_id, name)
);
