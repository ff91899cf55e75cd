-- 023, SQLite flavour: a link's after-link work (the copy_attachments
-- job: the task's files, the remote link's repair, the link's first sync
-- run) is marked pending by the link's own statement and enqueued after
-- it committed, by the request that made the link or, should that never
-- happen (a crash between the two), by a sweep of old marks. Enqueuing
-- clears the mark in the job's transaction, so the job is inserted once.
-- The sweep reads the marked links by age: a partial index holds only
-- those, a handful at any number of links.
ALTER TABLE links ADD COLUMN copy_pending BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX links_copy_pending ON links (created_at) WHERE copy_pending;
