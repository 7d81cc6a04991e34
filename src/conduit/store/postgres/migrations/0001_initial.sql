-- Conduit on PostgreSQL: the same tables as on SQLite (store/sqlite/migrations), in one file.
-- Times are Unix seconds (double precision), rendered RFC 3339 at the API edge. JSON documents are
-- kept as the exact text the API wrote (labels, filters, headers, roles), except a device's
-- `reported`, which is merged in SQL (jsonb).

CREATE TABLE organizations (
    id           text PRIMARY KEY,
    display_name text NOT NULL,
    create_time  double precision NOT NULL
);

CREATE TABLE projects (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations(id),
    display_name    text NOT NULL,
    inventory       boolean NOT NULL DEFAULT false,
    create_time     double precision NOT NULL
);
CREATE INDEX projects_by_org ON projects(organization_id);

CREATE TABLE service_accounts (
    id                text PRIMARY KEY,
    project_id        text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    email             text NOT NULL UNIQUE,
    display_name      text NOT NULL,
    enable_basic_auth boolean NOT NULL DEFAULT false,
    create_time       double precision NOT NULL,
    update_time       double precision NOT NULL
);
CREATE INDEX service_accounts_by_project ON service_accounts(project_id);

CREATE TABLE service_account_keys (
    id                 text PRIMARY KEY,
    service_account_id text NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE,
    secret_encrypted   bytea NOT NULL,
    create_time        double precision NOT NULL
);
CREATE INDEX keys_by_account ON service_account_keys(service_account_id);

CREATE TABLE memberships (
    scope_kind   text NOT NULL CHECK (scope_kind IN ('project', 'organization')),
    scope_id     text NOT NULL,
    member_id    text NOT NULL,
    account_type text NOT NULL CHECK (account_type IN ('USER', 'SERVICE_ACCOUNT')),
    email        text NOT NULL,
    display_name text NOT NULL,
    roles        text NOT NULL,          -- JSON array of role names
    status       text NOT NULL DEFAULT 'ACCEPTED',
    create_time  double precision NOT NULL,
    PRIMARY KEY (scope_kind, scope_id, member_id)
);
CREATE INDEX memberships_by_member ON memberships(member_id);

CREATE TABLE devices (
    id             text PRIMARY KEY,
    project_id     text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    type           text NOT NULL,
    product_number text NOT NULL DEFAULT '',
    labels         text NOT NULL DEFAULT '{}',
    reported       jsonb NOT NULL DEFAULT '{}',
    emulated       boolean NOT NULL DEFAULT false,
    create_time    double precision NOT NULL
);
CREATE INDEX devices_by_project ON devices(project_id, id);

-- seq orders events received in the same microsecond and is the tie-breaker of history pagination.
CREATE TABLE events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    project_id text NOT NULL,
    device_id  text NOT NULL,
    event_type text NOT NULL,
    ts         double precision NOT NULL,
    body       bytea NOT NULL
);
CREATE INDEX events_by_device ON events(device_id, ts);
CREATE INDEX events_by_ts ON events(ts);

CREATE TABLE dataconnectors (
    id               text PRIMARY KEY,
    project_id       text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    display_name     text NOT NULL DEFAULT '',
    type             text NOT NULL DEFAULT 'HTTP_PUSH',
    status           text NOT NULL DEFAULT 'ACTIVE',
    events           text NOT NULL DEFAULT '[]',
    labels           text NOT NULL DEFAULT '[]',
    url              text NOT NULL,
    signature_secret bytea,
    headers          text NOT NULL DEFAULT '{}',
    create_time      double precision NOT NULL,
    update_time      double precision NOT NULL,
    failing_since    double precision,
    last_success     double precision,
    consecutive_failures integer NOT NULL DEFAULT 0,
    -- a failing connector's single probe may start once this has passed (cluster-wide)
    probe_until      double precision NOT NULL DEFAULT 0
);
CREATE INDEX dataconnectors_by_project ON dataconnectors(project_id);

-- A row may be claimed once both next_attempt and lease_until have passed; claimed_by names the
-- node holding the claim, so a node only settles rows it still holds.
CREATE TABLE deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id  text NOT NULL REFERENCES dataconnectors(id) ON DELETE CASCADE,
    event_id      text NOT NULL,
    event_time    double precision NOT NULL,
    body          bytea NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  double precision NOT NULL,
    lease_until   double precision NOT NULL DEFAULT 0,
    claimed_by    text
);
CREATE INDEX deliveries_due ON deliveries(connector_id, greatest(next_attempt, lease_until));
CREATE INDEX deliveries_by_age ON deliveries(event_time);

CREATE TABLE delivery_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector_id text NOT NULL,
    event_id     text NOT NULL,
    attempt      integer NOT NULL,
    at           double precision NOT NULL,
    success      boolean NOT NULL,
    status_code  integer,
    error        text,
    latency      double precision NOT NULL
);
CREATE INDEX attempts_by_connector ON delivery_attempts(connector_id, at);
CREATE INDEX attempts_by_time ON delivery_attempts(at);

CREATE TABLE delivery_counters (
    connector_id text NOT NULL,
    name         text NOT NULL,
    value        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (connector_id, name)
);

-- Facts about the deployment itself, e.g. a value encrypted with the server key, so a node whose
-- key differs refuses to start instead of half-running.
CREATE TABLE server_facts (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
