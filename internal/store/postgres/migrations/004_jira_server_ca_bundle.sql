-- 004, PostgreSQL flavour: a Jira server behind a private CA carries the CA
-- certificates (PEM) that every connection to it trusts, beside the system
-- roots. Certificates are public, so the column is not sealed.
ALTER TABLE jira_servers ADD COLUMN ca_bundle_pem TEXT NOT NULL DEFAULT '';
