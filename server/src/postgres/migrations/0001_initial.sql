-- The endpoint's first schema on PostgreSQL: the SQLite schema's tables, in PostgreSQL's types,
-- each keyed by mission so that several missions (a headquarters) can share one database. An
-- endpoint instance serves one mission (the `mission` parameter of its database address) and
-- every statement it runs names it; docs/operations.md, "Several missions in one database".
CREATE TABLE meta (
    mission      TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (mission, key)
);
CREATE TABLE devices (
    mission      TEXT NOT NULL,
    id           TEXT NOT NULL,
    officer      TEXT NOT NULL,
    team         TEXT NOT NULL,
    role         TEXT NOT NULL,
    actor        TEXT,
    secret_hash  TEXT,
    created_at   TEXT NOT NULL,
    enrolled_at  TEXT,
    revoked_at   TEXT,
    last_sync_at TEXT,
    PRIMARY KEY (mission, id),
    UNIQUE (mission, actor),
    UNIQUE (mission, secret_hash)
);
CREATE TABLE enrollment_tokens (
    mission        TEXT NOT NULL,
    token_hash     TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    -- Enrolls a store that cannot prove its actor (made before actors had seeds).
    allow_unproven BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (mission, token_hash)
);
-- Append-only, in causal order: a change always comes after the changes it depends on. One
-- append at a time per mission (an advisory lock, docs/sync-protocol.md), so a mission's `seq`
-- values grow in commit order; another mission's appends only leave gaps between them.
CREATE TABLE changes (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mission      TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    hash         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    received_at  TEXT NOT NULL,
    UNIQUE (mission, hash)
);
CREATE INDEX changes_by_mission ON changes (mission, seq);
CREATE INDEX changes_by_doc ON changes (mission, doc_id, seq);
-- Materialized documents, to check pushes and scope pulls.
CREATE TABLE docs (
    mission      TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    team         TEXT NOT NULL,
    snapshot     BYTEA NOT NULL,
    PRIMARY KEY (mission, doc_id)
);
CREATE INDEX docs_by_team ON docs (mission, team);
-- When a record entered a team's scope (created, or reassigned), at which log position.
CREATE TABLE scope_log (
    mission      TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    doc_id       TEXT NOT NULL,
    team         TEXT NOT NULL
);
CREATE INDEX scope_log_by_team ON scope_log (mission, team, seq);
-- Append-only: who did what on the endpoint, and what was refused and why. Never record contents.
CREATE TABLE audit (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mission      TEXT NOT NULL,
    at           TEXT NOT NULL,
    action       TEXT NOT NULL,
    device_id    TEXT,
    detail       TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit (mission, at);
