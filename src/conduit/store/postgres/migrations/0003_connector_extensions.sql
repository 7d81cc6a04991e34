-- Conduit extensions beside DT's Data Connector resource (issue 9): how pushes are signed (DT's
-- X-Dt-Signature JWT, Standard Webhooks, or both), a rotated-out secret still accepted by
-- receivers until previous_secret_until, and whether a 410 Gone disables the connector.
ALTER TABLE dataconnectors ADD COLUMN signature_scheme text NOT NULL DEFAULT 'DT_JWT';
ALTER TABLE dataconnectors ADD COLUMN previous_secret bytea;
ALTER TABLE dataconnectors ADD COLUMN previous_secret_until double precision NOT NULL DEFAULT 0;
ALTER TABLE dataconnectors ADD COLUMN disable_on_gone boolean NOT NULL DEFAULT false;
