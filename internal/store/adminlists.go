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
	return pageByName(ctx, q, "list users", nameOrder{table: "asana_users", key: "gid", columns: asanaUserColumns, email: "email"},
		f.Query, f.AfterGID, f.Limit, q.scanAsanaUser)
}

// nameOrder is a table listed a page at a time by name, case ignored,
// then by its key: the columns read, and the column an email search
// compares ("" when the rows have none).
type nameOrder struct {
	table, key, columns, email string
}

// pageByName lists a page of o's rows by name (case ignored, in byte
// order) then key, starting after the row whose key is after. query, when
// set, is a key (digits), an email (it has an @, when o has emails) or the
// start of a name, in any case. Names sort and compare in byte order (the
// index's), whatever the database's collation, so that a page and a name
// prefix are each a range of the index on lower(name) and the key.
func pageByName[T any](ctx context.Context, q queries, op string, o nameOrder, query, after string, limit int, scan func(scanner) (T, error)) ([]T, error) {
	name := "lower(name)" + q.s.dialect.ByteOrder
	var (
		where []string
		args  params
	)
	arg := args.add
	switch query = strings.TrimSpace(query); {
	case query == "":
	case digitsShape.MatchString(query):
		where = append(where, o.key+" = "+arg(query))
	case o.email != "" && emailShape.MatchString(query):
		where = append(where, "lower("+o.email+") = "+arg(strings.ToLower(query)))
	default:
		prefix := strings.ToLower(query)
		where = append(where, name+" >= "+arg(prefix), name+" < "+arg(prefix+"\U0010FFFF"))
	}
	if after != "" {
		cond, ok, err := q.afterByName(ctx, o, name, after, arg)
		if err != nil || !ok {
			return nil, err
		}
		where = append(where, cond)
	}
	clause := ""
	if len(where) > 0 {
		clause = " WHERE " + strings.Join(where, " AND ")
	}
	return list(ctx, q, op, `SELECT `+o.columns+` FROM `+o.table+clause+
		` ORDER BY `+name+`, `+o.key+` LIMIT `+arg(limitOr(limit, 50, 500)), scan, args...)
}

// afterByName is the condition of a page of o's rows by name (the
// expression name, over lower(name)) then key that starts after the row
// whose key is after. That row's name is read first, by its key, so that the
// page is a range of the name index on either database: SQLite does not
// range-scan a row value compared with a subquery's. lower() is the
// database's, as the index's (SQLite's folds ASCII letters alone). ok is
// false when the row is gone: the page is empty.
func (q queries) afterByName(ctx context.Context, o nameOrder, name, after string, arg func(any) string) (cond string, ok bool, err error) {
	var lowered string
	err = q.q.QueryRowContext(ctx, `SELECT lower(name) FROM `+o.table+` WHERE `+o.key+` = $1`, after).Scan(&lowered)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, q.wrap("page of "+o.table, err)
	}
	n, k := arg(lowered), arg(after)
	return name + " >= " + n + " AND (" + name + " > " + n + " OR " + o.key + " > " + k + ")", true, nil
}

func (q queries) ListJiraCredentialsOf(ctx context.Context, asanaUserGIDs []string) ([]JiraCredential, error) {
	if len(asanaUserGIDs) == 0 {
		return nil, nil
	}
	marks, args := in(asanaUserGIDs)
	return list(ctx, q, "list jira credentials of users", `SELECT `+jiraCredentialColumns+` FROM jira_credentials
		WHERE asana_user_gid IN (`+marks+`) ORDER BY asana_user_gid, jira_server_id`, q.scanJiraCredential, args...)
}
