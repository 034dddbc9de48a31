-- The endpoint's first schema on PostgreSQL: the SQLite schema's tables, in PostgreSQL's types.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE devices (
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
CREATE TABLE enrollment_tokens (
    token_hash     TEXT PRIMARY KEY,
    device_id      TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    -- Enrolls a store that cannot prove its actor (made before actors had seeds).
    allow_unproven BOOLEAN NOT NULL DEFAULT FALSE
);
-- Append-only, in causal order: a change always comes after the changes it depends on. One
-- append at a time (an advisory lock, docs/sync-protocol.md), so `seq` grows in commit order.
CREATE TABLE changes (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    actor        TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX changes_by_doc ON changes (doc_id, seq);
-- Materialized documents, to check pushes and scope pulls.
CREATE TABLE docs (
    doc_id       TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    team         TEXT NOT NULL,
    snapshot     BYTEA NOT NULL
);
CREATE INDEX docs_by_team ON docs (team);
-- When a record entered a team's scope (created, or reassigned), at which log position.
CREATE TABLE scope_log (
    seq          BIGINT NOT NULL,
    doc_id       TEXT NOT NULL,
    team         TEXT NOT NULL
);
CREATE INDEX scope_log_by_team ON scope_log (team, seq);
-- Append-only: who did what on the endpoint, and what was refused and why. Never record contents.
CREATE TABLE audit (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TEXT NOT NULL,
    action       TEXT NOT NULL,
    device_id    TEXT,
    detail       TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit (at);
