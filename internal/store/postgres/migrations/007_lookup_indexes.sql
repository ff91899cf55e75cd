-- 007, PostgreSQL flavour: indexes so that no request path and no admin
-- list page reads a table that grows with the installation from end to end
-- (the query-plan test in bench/queryplan checks every statement they run).

-- The hourly cleanup deletes expired rows by their expiry.
CREATE INDEX auth_states_expires_at ON auth_states (expires_at);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- The Links page pages newest first (by id) within a server, a Jira
-- project (the part of the issue key before the dash, kept in its own
-- column), an issue key or a task.
ALTER TABLE links ADD COLUMN issue_project TEXT NOT NULL DEFAULT '';
UPDATE links SET issue_project = split_part(issue_key, '-', 1);
CREATE INDEX links_server_id ON links (jira_server_id, id);
CREATE INDEX links_project_id ON links (issue_project, id);

-- The Users page pages by name (in byte order, whatever the database's
-- collation, so a name prefix is a range) and finds a user by email.
CREATE INDEX asana_users_name ON asana_users ((lower(name) COLLATE "C"), gid);
CREATE INDEX asana_users_email ON asana_users (lower(email));

-- The Audit page filters by action or target, newest first.
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_target ON audit_log (target, id);
