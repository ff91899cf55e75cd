// Package queryplan holds the test that runs every request path of the
// bridge (App Components, the Jira webhook and the jobs it causes, the admin
// list pages) on SQLite and PostgreSQL, records each statement the store
// ran, and asks the database for its plan: none may scan a whole table. It
// also holds the form submit to the statements its replay protection may
// cost on PostgreSQL.
package queryplan
