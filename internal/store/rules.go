package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// RuleConfig is a rule action's saved configuration. It belongs to the
// Asana user who saved it (OwnerGID): a run uses the owner's accounts and
// must be signed as the owner. Asana sends no action id while a rule is
// being created, so a new rule's configuration is kept as its owner's
// pending one for (ProjectGID, ActionType), Action empty, until the owner's
// first run adopts it under the run's action id.
type RuleConfig struct {
	// Action is Asana's rule action id; empty while pending.
	Action     string
	ProjectGID string
	ActionType string
	OwnerGID   string
	// WorkspaceGID is the workspace the owner saved it in.
	WorkspaceGID string
	// Config is the settings as the bridge encodes them (JSON).
	Config    []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RuleConfigQueries are the reads and writes of rule configurations.
type RuleConfigQueries interface {
	// PutRuleConfig saves c under its action id, replacing the owner and
	// settings of an earlier save, or, without an action id, as the
	// owner's pending configuration for its project and action type.
	PutRuleConfig(ctx context.Context, c RuleConfig) error
	// GetRuleConfig returns the configuration of a rule action id.
	GetRuleConfig(ctx context.Context, action string) (RuleConfig, error)
	// GetPendingRuleConfig returns owner's pending configuration for a
	// project and action type.
	GetPendingRuleConfig(ctx context.Context, projectGID, actionType, ownerGID string) (RuleConfig, error)
	// AdoptPendingRuleConfig binds owner's pending configuration for a
	// project and action type to action, in one statement, and returns it:
	// of two runs racing, one adopts it. ErrNotFound when owner has none
	// pending or when action has a configuration already (ErrConflict when
	// that configuration appeared while adopting).
	AdoptPendingRuleConfig(ctx context.Context, action, projectGID, actionType, ownerGID string) (RuleConfig, error)
}

const ruleConfigColumns = `action, project_gid, action_type, owner_gid, workspace_gid, config, created_at, updated_at`

func scanRuleConfig(row scanner) (RuleConfig, error) {
	var (
		c                RuleConfig
		config           string
		created, updated sql.NullTime
	)
	err := row.Scan(&c.Action, &c.ProjectGID, &c.ActionType, &c.OwnerGID, &c.WorkspaceGID, &config, &created, &updated)
	c.Config, c.CreatedAt, c.UpdatedAt = []byte(config), fromNullTime(created), fromNullTime(updated)
	return c, err
}

func (q queries) PutRuleConfig(ctx context.Context, c RuleConfig) error {
	if c.OwnerGID == "" || len(c.Config) == 0 {
		return errors.New("store: put rule config: an owner and settings are required")
	}
	now := q.now()
	// The conflict targets name the partial unique indexes of migration 002.
	conflict := `ON CONFLICT (project_gid, action_type, owner_gid) WHERE action = '' DO UPDATE SET
		workspace_gid = excluded.workspace_gid, config = excluded.config, updated_at = excluded.updated_at`
	if c.Action != "" {
		conflict = `ON CONFLICT (action) WHERE action <> '' DO UPDATE SET owner_gid = excluded.owner_gid,
			workspace_gid = excluded.workspace_gid, config = excluded.config, updated_at = excluded.updated_at,
			project_gid = CASE WHEN excluded.project_gid <> '' THEN excluded.project_gid ELSE rule_configs.project_gid END,
			action_type = CASE WHEN excluded.action_type <> '' THEN excluded.action_type ELSE rule_configs.action_type END`
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO rule_configs (`+ruleConfigColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) `+conflict,
		c.Action, c.ProjectGID, c.ActionType, c.OwnerGID, c.WorkspaceGID, string(c.Config), now, now)
	return q.wrap("put rule config", err)
}

func (q queries) GetRuleConfig(ctx context.Context, action string) (RuleConfig, error) {
	if action == "" {
		return RuleConfig{}, q.wrap("get rule config", sql.ErrNoRows)
	}
	// "action <> ''" lets SQLite use the partial index on action (it cannot
	// tell that a parameter is not '').
	c, err := scanRuleConfig(q.q.QueryRowContext(ctx, `SELECT `+ruleConfigColumns+` FROM rule_configs WHERE action = $1 AND action <> ''`, action))
	return c, q.wrap("get rule config "+action, err)
}

func (q queries) GetPendingRuleConfig(ctx context.Context, projectGID, actionType, ownerGID string) (RuleConfig, error) {
	c, err := scanRuleConfig(q.q.QueryRowContext(ctx, `SELECT `+ruleConfigColumns+` FROM rule_configs
		WHERE action = '' AND project_gid = $1 AND action_type = $2 AND owner_gid = $3`, projectGID, actionType, ownerGID))
	return c, q.wrap("get pending rule config", err)
}

func (q queries) AdoptPendingRuleConfig(ctx context.Context, action, projectGID, actionType, ownerGID string) (RuleConfig, error) {
	if action == "" {
		return RuleConfig{}, errors.New("store: adopt rule config: an action id is required")
	}
	c, err := scanRuleConfig(q.q.QueryRowContext(ctx, `UPDATE rule_configs SET action = $1, updated_at = $5
		WHERE action = '' AND project_gid = $2 AND action_type = $3 AND owner_gid = $4
		AND NOT EXISTS (SELECT 1 FROM rule_configs taken WHERE taken.action = $1 AND taken.action <> '')
		RETURNING `+ruleConfigColumns, action, projectGID, actionType, ownerGID, q.now()))
	return c, q.wrap("adopt rule config", err)
}
