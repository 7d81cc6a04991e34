-- Custom headers (where users keep their receivers' API keys) are encrypted at rest with the
-- server key, like signature secrets. `headers` keeps only '{}': the first start with this schema
-- seals the clear headers of older rows (the store's `seal_clear_headers`, which needs the key).
ALTER TABLE dataconnectors ADD COLUMN headers_sealed bytea;
