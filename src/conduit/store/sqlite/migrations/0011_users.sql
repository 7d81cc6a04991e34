-- Issue 8: people who sign in to Studio. A user's id is its member id in `memberships` (an invited
-- email's pending member id is adopted when the user is created, and its invitations accepted).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,          -- argon2id, PHC string format
    create_time   REAL NOT NULL,
    update_time   REAL NOT NULL
);

-- A signed-in browser. The cookie's value is never stored, only its SHA-256, so a copy of the
-- database signs nobody in.
CREATE TABLE user_sessions (
    token_hash  BLOB PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    create_time REAL NOT NULL,
    expire_time REAL NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions(user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions(expire_time);
