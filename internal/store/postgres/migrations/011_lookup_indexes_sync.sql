-- 011, PostgreSQL flavour: indexes so that a sync run and the console find a
-- server's credentials and a link's mirrored comments by key instead of
-- reading the tables from end to end (bench/queryplan checks it).

-- A sync run attributes a Jira change to the Asana user connected as its
-- Jira author on the link's server; the console counts a server's users.
CREATE INDEX jira_credentials_server_username ON jira_credentials (jira_server_id, lower(jira_username));

-- A sync run reads its link's mirrored comments in order.
CREATE INDEX sync_comments_link ON sync_comments (link_id, id);
