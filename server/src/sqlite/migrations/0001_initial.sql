-- The endpoint's first schema. `IF NOT EXISTS`: a database made before migrations were
-- numbered has these tables already (and its user_version is 0).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id           TEXT PRIMARY KEY,
    officer      TEXT NOT NULL,
    team         TEXT NOT NULL,
    role         TEXT NOT NULL,
    actor        TEXT UNIQUE,
    secret_hash  TEXT UNIQUE,
    created_at   TEXT NOT NULL,
    enrolled_at  TEXT,
    revoked_at   TEXT,
    last_sync_at TEXT
);
CREATE TABLE IF NOT EXISTS enrollment_tokens (
    token_hash   TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    -- 1: enrolls a store that cannot prove its actor (made before actors had seeds).
    allow_unproven INTEGER NOT NULL DEFAULT 0
);
-- Append-only, in causal order: a change always comes after the changes it depends on.
CREATE TABLE IF NOT EXISTS changes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    actor        TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_doc ON changes (doc_id, seq);
-- Materialized documents, to check pushes and scope pulls.
CREATE TABLE IF NOT EXISTS docs (
    doc_id       TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    team         TEXT NOT NULL,
    snapshot     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_by_team ON docs (team);
-- When a record entered a team's scope (created, or reassigned), at which log position.
CREATE TABLE IF NOT EXISTS scope_log (
    seq          INTEGER NOT NULL,
    doc_id       TEXT NOT NULL,
    team         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scope_log_by_team ON scope_log (team, seq);
-- Append-only: who did what on the endpoint, and what was refused and why. Never record contents.
CREATE TABLE IF NOT EXISTS audit (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    action       TEXT NOT NULL,
    device_id    TEXT,
    detail       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
