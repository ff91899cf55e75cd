package store

import (
	"context"
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
		where = append(where, "("+name+", gid) > (SELECT "+name+", gid FROM asana_users WHERE gid = "+arg(f.AfterGID)+")")
	}
	clause := ""
	if len(where) > 0 {
		clause = " WHERE " + strings.Join(where, " AND ")
	}
	return list(ctx, q, "list users", `SELECT `+asanaUserColumns+` FROM asana_users`+clause+
		` ORDER BY `+name+`, gid LIMIT `+arg(limitOr(f.Limit, 50, 500)), q.scanAsanaUser, args...)
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
