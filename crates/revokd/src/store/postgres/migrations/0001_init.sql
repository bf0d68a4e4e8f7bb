-- revokd schema, version 1 (PostgreSQL). Every table is prefixed `revokd_`, so the
-- store can share a database (and schema) with an application.

-- The one counter row. Every write transaction locks it first (SELECT ... FOR UPDATE)
-- and holds the lock to COMMIT: writers of every process serialize on it, so sequence
-- numbers become visible strictly in commit order (no SEQUENCE: its numbers can commit
-- out of order).
CREATE TABLE revokd_feed_head (
    id            INT PRIMARY KEY CHECK (id = 1),
    seq           BIGINT NOT NULL,
    -- events at or below it may have been pruned
    watermark     BIGINT NOT NULL,
    max_lifetime  BIGINT NOT NULL
);
INSERT INTO revokd_feed_head(id, seq, watermark, max_lifetime) VALUES (1, 0, 0, 0);

CREATE TABLE revokd_revocations (
    id          TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    target      TEXT,
    iss         TEXT,
    before_ms   BIGINT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    reason      TEXT,
    actor       TEXT NOT NULL,
    removed     BOOLEAN NOT NULL DEFAULT FALSE,
    -- "kind|iss|target" while a jti or family rule is live, else NULL: one live rule each.
    uniq        TEXT UNIQUE
);
CREATE INDEX revokd_revocations_live ON revokd_revocations(seq) WHERE NOT removed;
CREATE INDEX revokd_revocations_target ON revokd_revocations(kind, target) WHERE NOT removed;
CREATE INDEX revokd_revocations_expiry ON revokd_revocations(expires_at);

CREATE TABLE revokd_events (
    seq            BIGINT PRIMARY KEY,
    op             TEXT NOT NULL,
    revocation_id  TEXT NOT NULL,
    at             BIGINT NOT NULL
);
CREATE INDEX revokd_events_revocation ON revokd_events(revocation_id);

-- Generated secrets (`secret:<name>`).
CREATE TABLE revokd_meta (
    key    TEXT PRIMARY KEY,
    value  BYTEA NOT NULL
);

CREATE TABLE revokd_refresh_uses (
    jti            TEXT PRIMARY KEY,
    first_used_ms  BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX revokd_refresh_uses_expiry ON revokd_refresh_uses(expires_at);

CREATE TABLE revokd_tokens (
    -- byte order (as SQLite compares), so registry pages do not depend on the locale
    jti   TEXT COLLATE "C" PRIMARY KEY,
    sub   TEXT COLLATE "C" NOT NULL,
    type  TEXT NOT NULL,
    fam   TEXT,
    iat   BIGINT NOT NULL,
    exp   BIGINT NOT NULL
);
CREATE INDEX revokd_tokens_sub ON revokd_tokens(sub, jti);
CREATE INDEX revokd_tokens_fam ON revokd_tokens(fam);
CREATE INDEX revokd_tokens_exp ON revokd_tokens(exp);
