-- The ledger of external writes (Asana stories, Jira comments, transitions,
-- completion): one row per write, recorded before it is made, leased to one
-- attempt at a time and marked done once made. See internal/effects.
CREATE TABLE side_effects (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    holder      TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMPTZ,
    attempts    INTEGER NOT NULL DEFAULT 0,
    result      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX side_effects_expires ON side_effects (expires_at);
