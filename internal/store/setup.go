package store

import "context"

// SetupQueries are the writes the setup service needs beyond the records'
// basic ones.
type SetupQueries interface {
	// DeleteWorkspace removes a workspace; its connections and project
	// routes go with it (the links of its tasks stay with their server).
	DeleteWorkspace(ctx context.Context, gid string) error
}

func (q queries) DeleteWorkspace(ctx context.Context, gid string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM workspaces WHERE gid = $1`, gid)
	return q.mustAffect("delete workspace "+gid, res, err)
}
