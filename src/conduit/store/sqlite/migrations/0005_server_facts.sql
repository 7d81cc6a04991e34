-- Facts about the deployment itself, e.g. a value encrypted with the server key, so a server whose
-- key differs refuses to start instead of half-running.
CREATE TABLE server_facts (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
