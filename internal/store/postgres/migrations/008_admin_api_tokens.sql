-- 008, PostgreSQL flavour: admin API tokens. A token is shown once when an
-- admin creates it; only its SHA-256 is kept, so the table never holds a
-- usable token. A revoked token keeps its row (revoked_at) for the record.
CREATE TABLE admin_api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
