"""SQL that both dialects speak word for word (no parameters): shared rather than copied.

Everything with parameters, or where SQLite and PostgreSQL differ, lives in the backend's own
modules (`store/sqlite/`, `store/postgres/`).
"""

PROJECT_SELECT = """
SELECT p.id, p.organization_id, o.display_name AS org_name, p.display_name, p.inventory,
       p.create_time,
       (SELECT count(*) FROM devices d WHERE d.project_id = p.id AND d.type != 'ccon') AS sensors,
       (SELECT count(*) FROM devices d WHERE d.project_id = p.id AND d.type = 'ccon') AS ccons
FROM projects p JOIN organizations o ON o.id = p.organization_id
"""

# Service account members show the account's current name and email, not a copy taken when added.
MEMBERSHIP_SELECT = """
SELECT m.scope_kind, m.scope_id, m.member_id, m.account_type, m.roles, m.status, m.create_time,
       COALESCE(sa.email, m.email) AS email,
       COALESCE(sa.display_name, m.display_name) AS display_name
FROM memberships m LEFT JOIN service_accounts sa
  ON m.account_type = 'SERVICE_ACCOUNT' AND sa.id = m.member_id
"""

# What the dispatcher reads of a connector (`rows.connector_row_from_row`), by id.
CONNECTOR_ROW_SELECT = """
SELECT id, status, update_time, url, headers_sealed, signature_secret, failing_since,
       last_success, consecutive_failures, probe_until, project_id, signature_scheme,
       previous_secret, previous_secret_until, disable_on_gone, rate_limit
FROM dataconnectors
"""
