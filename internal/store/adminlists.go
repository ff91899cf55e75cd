package store

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// UserFilter pages through Asana users ordered by name. Query, when set, is
// a user gid (digits), an email (it has an @) or the start of a name, in
// any case. The page starts after the user AfterGID.
type UserFilter struct {
	Query    string
	AfterGID string
	Limit    int
}

// UserListQueries serve the admin console's Users page: a page of users
// and the credentials of just those users, each read by an index.
type UserListQueries interface {
	ListUsers(ctx context.Context, f UserFilter) ([]AsanaUser, error)
	// ListJiraCredentialsOf lists the Jira credentials of the given users,
	// by user then server.
	ListJiraCredentialsOf(ctx context.Context, asanaUserGIDs []string) ([]JiraCredential, error)
}

var emailShape = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)

// params are a statement's arguments, numbered $1, $2, … as they are added.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

func (q queries) ListUsers(ctx context.Context, f UserFilter) ([]AsanaUser, error) {
	// Names sort and compare in byte order (the index's), whatever the
	// database's collation, so that a name prefix is a range of the index.
	name := "lower(name)" + q.s.dialect.ByteOrder
	var (
		where []string
		args  params
	)
	arg := args.add
	switch query := strings.TrimSpace(f.Query); {
	case query == "":
	case digitsShape.MatchString(query):
		where = append(where, "gid = "+arg(query))
	case emailShape.MatchString(query):
		where = append(where, "lower(email) = "+arg(strings.ToLower(query)))
	default:
		prefix := strings.ToLower(query)
		where = append(where, name+" >= "+arg(prefix), name+" < "+arg(prefix+"\U0010FFFF"))
	}
	if f.AfterGID != "" {
		cond, ok, err := q.afterByName(ctx, "asana_users", name, f.AfterGID, arg)
		if err != nil || !ok {
			return nil, err
		}
		where = append(where, cond)
	}
	clause := ""
	if len(where) > 0 {
		clause = " WHERE " + strings.Join(where, " AND ")
	}
	return list(ctx, q, "list users", `SELECT `+asanaUserColumns+` FROM asana_users`+clause+
		` ORDER BY `+name+`, gid LIMIT `+arg(limitOr(f.Limit, 50, 500)), q.scanAsanaUser, args...)
}

// afterByName is the condition of a page of table's rows by name (the
// expression name, over lower(name)) then gid that starts after the row
// of gid after. That row's name is read first, by its key, so that the
// page is a range of the name index on either database: SQLite does not
// range-scan a row value compared with a subquery's. lower() is the
// database's, as the index's (SQLite's folds ASCII letters alone). ok is
// false when the row is gone: the page is empty.
func (q queries) afterByName(ctx context.Context, table, name, after string, arg func(any) string) (cond string, ok bool, err error) {
	var lowered string
	err = q.q.QueryRowContext(ctx, `SELECT lower(name) FROM `+table+` WHERE gid = $1`, after).Scan(&lowered)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, q.wrap("page of "+table, err)
	}
	n, g := arg(lowered), arg(after)
	return name + " >= " + n + " AND (" + name + " > " + n + " OR gid > " + g + ")", true, nil
}

func (q queries) ListJiraCredentialsOf(ctx context.Context, asanaUserGIDs []string) ([]JiraCredential, error) {
	if len(asanaUserGIDs) == 0 {
		return nil, nil
	}
	marks := make([]string, len(asanaUserGIDs))
	args := make([]any, len(asanaUserGIDs))
	for i, gid := range asanaUserGIDs {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), gid
	}
	return list(ctx, q, "list jira credentials of users", `SELECT `+jiraCredentialColumns+` FROM jira_credentials
		WHERE asana_user_gid IN (`+strings.Join(marks, ", ")+`) ORDER BY asana_user_gid, jira_server_id`, q.scanJiraCredential, args...)
}
