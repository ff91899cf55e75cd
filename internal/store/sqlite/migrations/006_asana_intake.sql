-- 006, SQLite flavour: the Asana intake's state (internal/asanaintake).

-- The Asana projects each synced task belongs to, as Asana last told: the
-- intake polls (or watches) these projects. A task checked and found in no
-- project has one row with project_gid ''.
CREATE TABLE asana_task_projects (
    task_gid      TEXT NOT NULL,
    project_gid   TEXT NOT NULL,
    workspace_gid TEXT NOT NULL,
    checked_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (task_gid, project_gid)
);
CREATE INDEX asana_task_projects_project ON asana_task_projects (project_gid);

-- Per project with synced tasks: the events API sync token and when to poll
-- next. A project is active (polled at the poll interval) until
-- active_until, which an event on a linked task or App Components traffic
-- on one moves ahead; afterwards idle_level counts its empty polls and the
-- interval doubles with it up to a cap.
CREATE TABLE asana_projects_sync (
    project_gid   TEXT PRIMARY KEY,
    workspace_gid TEXT NOT NULL,
    sync_token    TEXT NOT NULL DEFAULT '',
    next_poll_at  TIMESTAMP NOT NULL,
    idle_level    INTEGER NOT NULL DEFAULT 0,
    active_until  TIMESTAMP,
    last_poll_at  TIMESTAMP,
    last_event_at TIMESTAMP,
    token_user    TEXT NOT NULL DEFAULT '',
    requests      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    last_error_at TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX asana_projects_sync_due ON asana_projects_sync (next_poll_at);

-- Per Asana token (user) the intake polls with: requests in the current
-- minute window, the pause a 429's Retry-After asked for.
CREATE TABLE asana_poll_tokens (
    user_gid        TEXT PRIMARY KEY,
    window_start    TIMESTAMP NOT NULL,
    window_requests INTEGER NOT NULL DEFAULT 0,
    requests_total  INTEGER NOT NULL DEFAULT 0,
    paused_until    TIMESTAMP,
    last_used_at    TIMESTAMP,
    last_error      TEXT NOT NULL DEFAULT ''
);

-- One Asana webhook per project in webhooks mode. The secret of the
-- X-Hook-Secret handshake is sealed. A handshake is accepted only while the
-- row is pending (until pending_until) and has no secret yet.
CREATE TABLE asana_webhooks (
    project_gid       TEXT PRIMARY KEY,
    workspace_gid     TEXT NOT NULL,
    webhook_gid       TEXT NOT NULL DEFAULT '',
    secret            BLOB,
    target            TEXT NOT NULL,
    state             TEXT NOT NULL,
    pending_until     TIMESTAMP,
    token_user        TEXT NOT NULL DEFAULT '',
    last_delivery_at  TIMESTAMP,
    last_heartbeat_at TIMESTAMP,
    last_checked_at   TIMESTAMP,
    last_error        TEXT NOT NULL DEFAULT '',
    last_error_at     TIMESTAMP,
    recreated         INTEGER NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

-- An Asana event about a story names only the story: the comment map tells
-- its link.
CREATE INDEX sync_comments_story ON sync_comments (asana_story_gid) WHERE asana_story_gid <> '';
