-- 024, SQLite flavour: a create claims the issue's creation
-- (idempotency_keys, scope create_issue, key "<server id>:<task gid>")
-- before Jira is asked, and completes the claim with the link. A process
-- that died between Jira's create and the link left the claim unfinished
-- (result NULL) or marked failed ('{"failed":true}'), and the issue
-- unlinked until someone submitted the form again. The sweep of such
-- claims (the sweep_create_claims job) finishes the create: it searches
-- Jira for the task's issue as the user who made the create, and stores
-- the link in the task's workspace. The claim therefore records who and
-- where: workspace_gid, the task's Asana workspace, and user_gid, the
-- Asana user whose Jira credentials make the create ('' on the claims of
-- other scopes, and on those taken before this migration, which the
-- sweep cannot finish and skips).
ALTER TABLE idempotency_keys ADD COLUMN workspace_gid TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN user_gid TEXT NOT NULL DEFAULT '';
-- The sweep reads the creations' claims that are unfinished or failed by
-- expiry: a partial index holds only those, a handful at any number of
-- creates (completed claims, every create's, are left out). A claim with
-- an intent is a creation's (only those record one), and naming the
-- scope instead would offer the planner the primary key (scope, key),
-- and with it every create's claim. Its WHERE is
-- repeated word for word by the sweep's query (store.unresolvedCreation),
-- as SQLite uses a partial index only then; the CAST compares a result
-- written as TEXT as the BLOB the store writes.
CREATE INDEX idempotency_keys_unresolved_creations ON idempotency_keys (expires_at)
    WHERE user_gid <> '' AND (result IS NULL OR CAST(result AS BLOB) = CAST('{"failed":true}' AS BLOB));
