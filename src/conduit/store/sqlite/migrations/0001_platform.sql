-- Organizations, projects, service accounts, their keys, and memberships.
-- Times are stored as Unix seconds (REAL) and rendered RFC 3339 at the API edge.

CREATE TABLE organizations (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    create_time  REAL NOT NULL
);

CREATE TABLE projects (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    display_name    TEXT NOT NULL,
    inventory       INTEGER NOT NULL DEFAULT 0,
    create_time     REAL NOT NULL
);
CREATE INDEX projects_by_org ON projects(organization_id);

-- A service account belongs to (is owned by) one project; its email is <id>@<project>.serviceaccount.<domain>.
CREATE TABLE service_accounts (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    email             TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL,
    enable_basic_auth INTEGER NOT NULL DEFAULT 0,
    create_time       REAL NOT NULL,
    update_time       REAL NOT NULL
);
CREATE INDEX service_accounts_by_project ON service_accounts(project_id);

-- Key secrets are encrypted with the server key (auth/secrets.py); never stored in the clear.
CREATE TABLE service_account_keys (
    id                 TEXT PRIMARY KEY,
    service_account_id TEXT NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE,
    secret_encrypted   BLOB NOT NULL,
    create_time        REAL NOT NULL
);
CREATE INDEX keys_by_account ON service_account_keys(service_account_id);

-- One row per (scope, member). scope_kind is 'project' or 'organization'. member_id is a service account id
-- for SERVICE_ACCOUNT members, or an opaque id for invited USER members (who cannot log in to Conduit).
CREATE TABLE memberships (
    scope_kind   TEXT NOT NULL CHECK (scope_kind IN ('project', 'organization')),
    scope_id     TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    account_type TEXT NOT NULL CHECK (account_type IN ('USER', 'SERVICE_ACCOUNT')),
    email        TEXT NOT NULL,
    display_name TEXT NOT NULL,
    roles        TEXT NOT NULL,          -- JSON array of role names
    status       TEXT NOT NULL DEFAULT 'ACCEPTED',
    create_time  REAL NOT NULL,
    PRIMARY KEY (scope_kind, scope_id, member_id)
);
CREATE INDEX memberships_by_member ON memberships(member_id);
