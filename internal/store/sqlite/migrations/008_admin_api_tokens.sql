-- 008, SQLite flavour: admin API tokens. A token is shown once when an admin
-- creates it; only its SHA-256 is kept, so the table never holds a usable
-- token. A revoked token keeps its row (revoked_at) for the record.
CREATE TABLE admin_api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
