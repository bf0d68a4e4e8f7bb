-- revokd schema, version 1.
CREATE TABLE revocations (
    id          TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    target      TEXT,
    iss         TEXT,
    before_ms   INTEGER,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    reason      TEXT,
    actor       TEXT NOT NULL,
    removed     INTEGER NOT NULL DEFAULT 0,
    -- "kind|iss|target" while a jti or family rule is live, else NULL: one live rule each.
    uniq        TEXT UNIQUE
);
CREATE INDEX revocations_live ON revocations(removed, seq);
CREATE INDEX revocations_expiry ON revocations(expires_at);

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    op             TEXT NOT NULL,
    revocation_id  TEXT NOT NULL,
    at             INTEGER NOT NULL
);
CREATE INDEX events_revocation ON events(revocation_id);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  BLOB NOT NULL
);

CREATE TABLE refresh_uses (
    jti            TEXT PRIMARY KEY,
    first_used_ms  INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);

CREATE TABLE tokens (
    jti   TEXT PRIMARY KEY,
    sub   TEXT NOT NULL,
    type  TEXT NOT NULL,
    fam   TEXT,
    iat   INTEGER NOT NULL,
    exp   INTEGER NOT NULL
);
CREATE INDEX tokens_sub ON tokens(sub, jti);
CREATE INDEX tokens_fam ON tokens(fam);
CREATE INDEX tokens_exp ON tokens(exp);
