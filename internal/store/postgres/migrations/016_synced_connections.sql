-- 016, PostgreSQL flavour: the periodic sweeps (reconciliation with Jira per
-- server, the Asana intake's task → project map) read the links of the
-- connections that sync. They started from the links and looked up each
-- one's connection: every tick read every link of the installation. This
-- index finds the connections that sync (by server, or all of them), and
-- links_connection (012) their links.
CREATE INDEX sync_settings_enabled ON sync_settings (jira_server_id, workspace_gid) WHERE enabled;
