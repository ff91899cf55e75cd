-- 005, PostgreSQL flavour: the two-way sync engine's state (internal/syncengine).

-- Sync settings per connection (Asana workspace × Jira server). Sync is off
-- until an admin enables it; comments and completion can be turned off one
-- by one. enabled_at is when sync was last switched on: comments older than
-- that (or than the link) existed before sync and are never mirrored. done_transition and reopen_transition name the Jira transition to
-- prefer when several lead to a status of the wanted category.
CREATE TABLE sync_settings (
    workspace_gid     TEXT NOT NULL,
    jira_server_id    TEXT NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT FALSE,
    comments          BOOLEAN NOT NULL DEFAULT TRUE,
    completion        BOOLEAN NOT NULL DEFAULT TRUE,
    done_transition   TEXT NOT NULL DEFAULT '',
    reopen_transition TEXT NOT NULL DEFAULT '',
    enabled_at        TIMESTAMPTZ,
    updated_by        TEXT NOT NULL DEFAULT '',
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_gid, jira_server_id),
    FOREIGN KEY (workspace_gid, jira_server_id) REFERENCES connections (workspace_gid, jira_server_id) ON DELETE CASCADE
);

-- Every change an intake observed on a linked task or issue, recorded once
-- per (link, side, dedup key) however often it is delivered; applied_at and
-- outcome are set by the sync run that handled it.
CREATE TABLE sync_changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id     BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    side        TEXT NOT NULL,
    source      TEXT NOT NULL,
    dedup_key   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    object      TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    observed_at TIMESTAMPTZ,
    received_at TIMESTAMPTZ NOT NULL,
    applied_at  TIMESTAMPTZ,
    outcome     TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    UNIQUE (link_id, side, dedup_key)
);
CREATE INDEX sync_changes_pending ON sync_changes (link_id, id) WHERE applied_at IS NULL;
CREATE INDEX sync_changes_received ON sync_changes (received_at);

-- Per link: the values both sides last agreed on (or the engine last wrote),
-- when it last synced, its visible error, and the lease that lets one sync
-- run at a time per link across replicas.
CREATE TABLE sync_link_state (
    link_id         BIGINT PRIMARY KEY REFERENCES links (id) ON DELETE CASCADE,
    baseline_at     TIMESTAMPTZ,
    asana_completed BOOLEAN,
    jira_done       BOOLEAN,
    asana_written   BOOLEAN NOT NULL DEFAULT FALSE,
    jira_written    BOOLEAN NOT NULL DEFAULT FALSE,
    last_synced_at  TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    last_error_at   TIMESTAMPTZ,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- Comments mirrored between a Jira issue and its task (and those that
-- existed when sync began, never mirrored): the Jira comment id and the
-- story gid, which side wrote the original, hashes of both texts as last
-- seen or written (so an edit on either side is noticed and an echo is not),
-- and who wrote the mirror.
CREATE TABLE sync_comments (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id         BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    jira_comment_id TEXT NOT NULL DEFAULT '',
    asana_story_gid TEXT NOT NULL DEFAULT '',
    origin          TEXT NOT NULL,
    state           TEXT NOT NULL,
    jira_hash       TEXT NOT NULL DEFAULT '',
    asana_hash      TEXT NOT NULL DEFAULT '',
    author          TEXT NOT NULL DEFAULT '',
    written_by      TEXT NOT NULL DEFAULT '',
    prefix          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX sync_comments_jira ON sync_comments (link_id, jira_comment_id) WHERE jira_comment_id <> '';
CREATE UNIQUE INDEX sync_comments_asana ON sync_comments (link_id, asana_story_gid) WHERE asana_story_gid <> '';

-- What the engine wrote (or failed to write) per link, for people.
CREATE TABLE sync_history (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id   BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    at        TIMESTAMPTZ NOT NULL,
    direction TEXT NOT NULL DEFAULT '',
    what      TEXT NOT NULL,
    actor     TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_history_link ON sync_history (link_id, id);

-- Named positions of periodic intake, e.g. the Jira reconciliation cursor
-- of each server.
CREATE TABLE sync_cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
