package store

import (
	"context"
	"fmt"
	"strings"
)

// sealedColumns lists every column that holds a sealed value, with the key
// that finds its row. ResealSecrets walks it; a new sealed column must be
// added here or key rotation would leave it behind (storetest checks).
var sealedColumns = []struct {
	table string
	keys  []string
	cols  []string
}{
	{"jira_servers", []string{"id"}, []string{"private_key", "oauth2_client_secret", "webhook_secret"}},
	{"asana_users", []string{"gid"}, []string{"access_token", "refresh_token"}},
	{"jira_credentials", []string{"asana_user_gid", "jira_server_id"}, []string{"access_token", "token_secret", "refresh_token"}},
	{"auth_states", []string{"state"}, []string{"data"}},
	{"asana_webhooks", []string{"project_gid"}, []string{"secret"}},
}

// ResealSecrets re-seals every sealed value under the Sealer's current key, in
// one transaction.
func (s *SQL) ResealSecrets(ctx context.Context) (int, error) {
	count := 0
	err := s.InTx(ctx, func(tx Tx) error {
		q := tx.(*sqlTx).queries
		for _, t := range sealedColumns {
			for _, col := range t.cols {
				n, err := q.resealColumn(ctx, t.table, t.keys, col)
				if err != nil {
					return err
				}
				count += n
			}
		}
		return nil
	})
	return count, err
}

func (q queries) resealColumn(ctx context.Context, table string, keys []string, col string) (int, error) {
	op := "reseal " + table + "." + col
	type row struct {
		keys   []any
		sealed []byte
	}
	// Read every row first: the updates below must not run while the
	// result set is open (a transaction has one connection).
	all, err := func() ([]row, error) {
		rows, err := q.q.QueryContext(ctx, `SELECT `+strings.Join(keys, ", ")+`, `+col+` FROM `+table+` WHERE `+col+` IS NOT NULL`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var all []row
		for rows.Next() {
			r := row{keys: make([]any, len(keys))}
			dst := make([]any, len(keys)+1)
			for i := range keys {
				var k string
				r.keys[i] = &k
				dst[i] = &k
			}
			dst[len(keys)] = &r.sealed
			if err := rows.Scan(dst...); err != nil {
				return nil, err
			}
			all = append(all, r)
		}
		return all, rows.Err()
	}()
	if err != nil {
		return 0, q.wrap(op, err)
	}

	var where []string
	for i, k := range keys {
		where = append(where, fmt.Sprintf("%s = $%d", k, i+2))
	}
	stmt := `UPDATE ` + table + ` SET ` + col + ` = $1 WHERE ` + strings.Join(where, " AND ")
	for _, r := range all {
		plain, err := q.open(r.sealed)
		if err != nil {
			return 0, fmt.Errorf("store: %s: %w", op, err)
		}
		sealed, err := q.seal(plain)
		if err != nil {
			return 0, err
		}
		args := append([]any{sealed}, r.keys...)
		for i := 1; i < len(args); i++ {
			args[i] = *(args[i].(*string))
		}
		if _, err := q.q.ExecContext(ctx, stmt, args...); err != nil {
			return 0, q.wrap(op, err)
		}
	}
	return len(all), nil
}
