package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/connect"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// newSetup builds the setup service for cfg's public URL; sync takes the
// sync settings of setup files.
func newSetup(cfg config.Config, st store.Store, log *slog.Logger, sync *syncengine.Engine) (*setup.Service, error) {
	pub := cfg.EffectivePublicURL()
	d := setup.Deps{Store: st, PublicURL: pub, JiraOAuth2RedirectURL: pub + connect.JiraOAuth2CallbackPath, Log: log}
	if sync != nil {
		d.Sync = sync
	}
	svc, err := setup.New(d)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return svc, nil
}

// OpenSetup opens (and migrates) the configured database with its sealing
// key and returns the setup service over it, as serve builds it but without
// serving or running jobs: what the setup commands (jira, workspace, route,
// apply) need. Call done when finished.
func OpenSetup(ctx context.Context, cfg config.Config, log *slog.Logger) (svc *setup.Service, done func(), err error) {
	a, err := New(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return a.setup, a.Close, nil
}
