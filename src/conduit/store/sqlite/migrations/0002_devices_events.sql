-- Devices, their labels and latest reported data, and the event history.

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    type           TEXT NOT NULL,
    product_number TEXT NOT NULL DEFAULT '',
    labels         TEXT NOT NULL DEFAULT '{}',   -- JSON object
    reported       TEXT NOT NULL DEFAULT '{}',   -- JSON object: event type -> latest full data of that type
    emulated       INTEGER NOT NULL DEFAULT 0,
    create_time    REAL NOT NULL
);
CREATE INDEX devices_by_project ON devices(project_id, id);

-- body is the full event envelope as emitted (compact JSON), so history, stream and pushes agree byte for byte.
-- ts is the envelope timestamp in Unix seconds, always an exact microsecond (micros / 1e6), so a timestamp
-- read back from an event compares equal to the row it came from. seq orders events received in the same
-- microsecond and is the tie-breaker of history pagination.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    event_type TEXT NOT NULL,
    ts         REAL NOT NULL,
    body       BLOB NOT NULL
);
CREATE INDEX events_by_device ON events(device_id, ts);
CREATE INDEX events_by_ts ON events(ts);
