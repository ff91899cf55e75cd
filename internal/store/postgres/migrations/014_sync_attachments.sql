-- 014, PostgreSQL flavour: the attachment map of two-way sync. Each row pairs
-- a Jira attachment with the Asana attachment asanajira made of it, or the
-- one it was made from (the copy of a task's files to the issue), so that
-- neither copy comes back as a new file; a Jira attachment asanajira could
-- not copy is kept with no Asana attachment, so it is told once.
CREATE TABLE sync_attachments (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id              BIGINT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    jira_attachment_id   TEXT NOT NULL,
    asana_attachment_gid TEXT NOT NULL DEFAULT '',
    -- origin: jira (copied to Asana), asana (copied to Jira), same (the
    -- other side had the same file already), skipped (not copied, told).
    origin               TEXT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX sync_attachments_jira ON sync_attachments (link_id, jira_attachment_id);
CREATE INDEX sync_attachments_asana ON sync_attachments (link_id, asana_attachment_gid);
