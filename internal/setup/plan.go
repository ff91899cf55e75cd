package setup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// SyncSettings is what apply needs of the sync engine to set each
// connection's two-way sync settings; *syncengine.Engine implements it.
type SyncSettings interface {
	// Settings returns a connection's settings (the defaults when none
	// were saved).
	Settings(ctx context.Context, workspaceGID, jiraServerID string) (store.SyncSettings, error)
	// PutSettings saves them; by is who changed them.
	PutSettings(ctx context.Context, s store.SyncSettings, by string) error
}

// FieldMappings is what apply needs of the sync engine to set a
// connection's field mapping; *syncengine.Engine implements it.
type FieldMappings interface {
	GetMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) (syncengine.SavedMapping, error)
	PutMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string, m syncengine.Mapping, by string) error
	DeleteMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) error
}

// Change ops, as a plan shows them.
const (
	OpAdd    = "+"
	OpChange = "~"
	OpRemove = "-"
)

// Change is one step of a plan.
type Change struct {
	Op   string `json:"op"`
	What string `json:"what"`
	// PruneOnly marks a removal: made only with --prune.
	PruneOnly bool `json:"prune_only,omitempty"`
	// Applied says apply made it (false in a dry run, and for a removal
	// left without --prune).
	Applied bool `json:"applied"`
	run     func(ctx context.Context, st *applyState) error
}

// Plan is what apply would change to make the setup what a file says,
// computed from the database and, read-only, from Jira (does it accept the
// application link, is the webhook right) and Asana (names to gids).
type Plan struct {
	Changes []Change `json:"changes"`
	// Notes are what apply cannot do by itself, with what to do instead.
	Notes []string `json:"notes"`
	// Pruned says removals are made.
	Pruned bool `json:"pruned"`
	// servers are the ids of the file's servers that exist already.
	servers map[string]string
}

// Empty reports whether nothing would change.
func (p *Plan) Empty() bool {
	for _, c := range p.Changes {
		if !c.PruneOnly || p.Pruned {
			return false
		}
	}
	return true
}

// Counts reports how many changes add, change and remove.
func (p *Plan) Counts() (add, change, remove int) {
	for _, c := range p.Changes {
		switch c.Op {
		case OpAdd:
			add++
		case OpChange:
			change++
		case OpRemove:
			remove++
		}
	}
	return add, change, remove
}

// applyState carries what earlier steps learnt to later ones: the id of a
// server registered in this run.
type applyState struct {
	actor   Actor
	servers map[string]string // file server name → id
}

func (st *applyState) server(name string) (string, error) {
	id, ok := st.servers[name]
	if !ok {
		return "", fmt.Errorf("setup: the server %q was not registered", name)
	}
	return id, nil
}

// planner computes a plan.
type planner struct {
	s     *Service
	f     *File
	env   FileEnv
	plan  *Plan
	known map[string]store.JiraServer // file server name → its record, when it exists
	ids   map[string]string           // file server name → id, when it exists
	ws    map[int]string              // workspace entry → gid
	asana *asana.Client
}

func (p *planner) add(op, what string, run func(ctx context.Context, st *applyState) error) {
	p.plan.Changes = append(p.plan.Changes, Change{Op: op, What: what, run: run})
}

func (p *planner) remove(what string, run func(ctx context.Context, st *applyState) error) {
	p.plan.Changes = append(p.plan.Changes, Change{Op: OpRemove, What: what, PruneOnly: true, run: run})
}

func (p *planner) note(format string, a ...any) {
	p.plan.Notes = append(p.plan.Notes, fmt.Sprintf(format, a...))
}

// Plan computes what applying f would change. It changes nothing; it
// reads Jira (is each application link accepted, with credentials is the
// webhook right) and, for names without gids, Asana. prune makes removals
// part of the plan's work; without it they are shown and left.
func (s *Service) Plan(ctx context.Context, f *File, env FileEnv, prune bool) (*Plan, error) {
	p := &planner{s: s, f: f, env: env, plan: &Plan{Changes: []Change{}, Notes: []string{}, Pruned: prune},
		known: map[string]store.JiraServer{}, ids: map[string]string{}, ws: map[int]string{}}
	if p.env.Getenv == nil {
		p.env.Getenv = func(string) string { return "" }
	}
	for _, step := range []func(context.Context) error{p.servers, p.workspaces, p.pruneWorkspaces, p.pruneServers} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	p.plan.servers = p.ids
	return p.plan, nil
}

// Apply makes the plan's changes in order, as actor, and reports them as
// applied; a removal is made only when the plan was computed with prune. It
// stops at the first failure: the plan then tells what was done.
func (s *Service) Apply(ctx context.Context, actor Actor, p *Plan) error {
	if err := need(actor); err != nil {
		return err
	}
	st := &applyState{actor: actor, servers: map[string]string{}}
	for name, id := range p.servers {
		st.servers[name] = id
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.PruneOnly && !p.Pruned {
			continue
		}
		if err := c.run(ctx, st); err != nil {
			var se *Error
			if errors.As(err, &se) {
				return &Error{Code: se.Code, Step: se.Step, Err: err, Message: "Stopped at “" + c.Op + " " + c.What + "”: " + se.Message}
			}
			return fmt.Errorf("setup: apply %q: %w", c.What, err)
		}
		c.Applied = true
	}
	return nil
}

// servers plans each server of the file, in order.
func (p *planner) servers(ctx context.Context) error {
	all, err := p.s.Servers(ctx)
	if err != nil {
		return err
	}
	for i, e := range p.f.JiraServers {
		where := fmt.Sprintf("jira_servers[%d] (%s)", i, e.Name)
		bundle := e.CABundle
		if e.CABundleFile != "" {
			b, err := p.env.ReadFile(p.env.path(e.CABundleFile))
			if err != nil {
				return &Error{Code: Invalid, Err: err, Message: fmt.Sprintf("%s: cannot read ca_bundle_file: %v.", where, err)}
			}
			bundle = string(b)
		}
		baseURL, bundle, err := checkServerInput(ServerInput{BaseURL: e.URL, Name: e.Name, ConnectAddress: e.ConnectAddress, CABundlePEM: bundle})
		if err != nil {
			var se *Error
			if errors.As(err, &se) {
				return &Error{Code: se.Code, Err: err, Message: where + ": " + se.Message}
			}
			return err
		}
		admin, err := p.admin(where, e.Admin)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(all, func(s store.JiraServer) bool { return strings.EqualFold(s.BaseURL, baseURL) })
		if i < 0 {
			p.newServer(e, baseURL, bundle, admin)
		} else {
			srv := all[i]
			p.known[e.Name], p.ids[e.Name] = srv, srv.ID
			p.existingServer(ctx, e, srv, bundle, admin)
		}
		if err := p.serverOptions(e, where); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) admin(where string, a *AdminEntry) (JiraAdmin, error) {
	if a == nil {
		return JiraAdmin{}, nil
	}
	token, err := p.env.secret(where+" admin token", a.TokenEnv, a.TokenFile)
	if err != nil {
		return JiraAdmin{}, err
	}
	password, err := p.env.secret(where+" admin password", a.PasswordEnv, a.PasswordFile)
	if err != nil {
		return JiraAdmin{}, err
	}
	return JiraAdmin{Token: token, User: a.User, Password: password}, nil
}

func (p *planner) newServer(e ServerEntry, baseURL, bundle string, admin JiraAdmin) {
	name := e.Name
	what := fmt.Sprintf("jira server %q at %s: register it (the doctor first) with a new key pair", name, baseURL)
	if e.ConnectAddress != "" {
		what += ", reached at " + e.ConnectAddress
	}
	if n := len(BundleCerts(bundle)); n > 0 {
		what += fmt.Sprintf(", trusting a CA bundle of %d certificate(s)", n)
	}
	p.add(OpAdd, what, func(ctx context.Context, st *applyState) error {
		reg, err := p.s.RegisterServer(ctx, st.actor, ServerInput{BaseURL: baseURL, Name: name, ConnectAddress: e.ConnectAddress, CABundlePEM: bundle})
		if err != nil {
			return err
		}
		st.servers[name] = reg.Server.ID
		return nil
	})
	if admin.Given() {
		p.connect(name, OpAdd, "create the application link and the webhook", admin)
		return
	}
	p.note("jira server %q: without admin credentials in the file, create the application link by hand with what 'asanajira jira show \"%s\"' prints, then run 'asanajira jira verify \"%s\"'.", name, name, name)
}

// connect plans the automatic setup of a server.
func (p *planner) connect(name, op, why string, admin JiraAdmin) {
	p.add(op, fmt.Sprintf("jira server %q: %s (as %s)", name, why, admin.who()), func(ctx context.Context, st *applyState) error {
		id, err := st.server(name)
		if err != nil {
			return err
		}
		_, err = p.s.ConnectAutomatic(ctx, st.actor, id, admin)
		return err
	})
}

func (p *planner) existingServer(ctx context.Context, e ServerEntry, srv store.JiraServer, bundle string, admin JiraAdmin) {
	name, id := e.Name, srv.ID
	if srv.Name != name {
		p.add(OpChange, fmt.Sprintf("jira server %q: rename it from %q", name, srv.Name), func(ctx context.Context, st *applyState) error {
			_, err := p.s.UpdateServer(ctx, st.actor, id, ServerChanges{Name: &name})
			return err
		})
	}
	if srv.ConnectAddress != e.ConnectAddress {
		addr := e.ConnectAddress
		p.add(OpChange, fmt.Sprintf("jira server %q: connect address %q → %q", name, srv.ConnectAddress, addr), func(ctx context.Context, st *applyState) error {
			_, err := p.s.UpdateServer(ctx, st.actor, id, ServerChanges{ConnectAddress: &addr})
			return err
		})
	}
	if srv.CABundlePEM != bundle {
		p.add(OpChange, fmt.Sprintf("jira server %q: CA bundle of %d certificate(s) → %d", name, len(BundleCerts(srv.CABundlePEM)), len(BundleCerts(bundle))),
			func(ctx context.Context, st *applyState) error {
				_, err := p.s.SetCABundle(ctx, st.actor, id, bundle)
				return err
			})
	}
	// The link and the webhook, judged with the settings the file gives.
	want := srv
	want.ConnectAddress, want.CABundlePEM = e.ConnectAddress, bundle
	switch {
	case srv.AppLinkID == "" || srv.Status != StatusConnected:
		if admin.Given() {
			p.connect(name, OpAdd, "create the application link and the webhook", admin)
		} else {
			p.note("jira server %q has no working application link (%s): give admin credentials in the file, or create it by hand with what 'asanajira jira show \"%s\"' prints and run 'asanajira jira verify \"%s\"'.", name, srv.Status, name, name)
		}
		return
	}
	if err := p.s.CheckLink(ctx, want); err != nil {
		if admin.Given() {
			p.connect(name, OpChange, "make the application link and the webhook again: "+refusal(err), admin)
		} else {
			p.note("jira server %q: %s Give admin credentials in the file to make the link again, or fix it in Jira.", name, err.Error())
		}
		return
	}
	if !admin.Given() {
		if srv.WebhookURL == "" {
			p.note("jira server %q has no webhook recorded: give admin credentials in the file to register it, or register it by hand and run 'asanajira jira show \"%s\"'.", name, name)
		}
		return
	}
	ok, err := p.s.CheckWebhook(ctx, want, admin)
	switch {
	case err != nil:
		p.note("jira server %q: the webhook could not be checked: %s", name, err.Error())
	case !ok:
		p.add(OpChange, fmt.Sprintf("jira server %q: repair the webhook (Jira lacks exactly one enabled webhook to asanajira with every event)", name),
			func(ctx context.Context, st *applyState) error {
				_, err := p.s.RepairWebhook(ctx, st.actor, id, admin)
				return err
			})
	}
}

// serverOptions plans the OAuth 2.0 client and the sign-in methods.
func (p *planner) serverOptions(e ServerEntry, where string) error {
	name := e.Name
	srv, exists := p.known[name]
	if o := e.OAuth2; o != nil {
		secret, err := p.env.secret(where+" oauth2 client_secret", o.ClientSecretEnv, o.ClientSecretFile)
		if err != nil {
			return err
		}
		if !exists || srv.OAuth2ClientID != o.ClientID || srv.OAuth2ClientSecret.Reveal() != secret || !slices.Contains(srv.AuthMethods, store.AuthOAuth2) {
			p.add(OpChange, fmt.Sprintf("jira server %q: OAuth 2.0 client %s (checked with Jira)", name, o.ClientID), func(ctx context.Context, st *applyState) error {
				id, err := st.server(name)
				if err != nil {
					return err
				}
				_, err = p.s.SetOAuth2Client(ctx, st.actor, id, o.ClientID, secret)
				return err
			})
		}
	}
	if e.Methods != nil {
		want := e.Methods
		have := srv.AuthMethods
		if e.OAuth2 != nil && !slices.Contains(have, store.AuthOAuth2) {
			have = append(slices.Clone(have), store.AuthOAuth2) // the client step offers it
		}
		if !exists || !slices.Equal(have, want) {
			what := fmt.Sprintf("jira server %q: sign-in methods %s", name, joinMethods(want))
			if exists {
				what = fmt.Sprintf("jira server %q: sign-in methods %s → %s", name, joinMethods(srv.AuthMethods), joinMethods(want))
			}
			p.add(OpChange, what, func(ctx context.Context, st *applyState) error {
				id, err := st.server(name)
				if err != nil {
					return err
				}
				_, err = p.s.SetMethods(ctx, st.actor, id, want)
				return err
			})
		}
	}
	return nil
}

// refusal says in a few words why Jira did not accept a signed call.
func refusal(err error) string {
	var je *jira.Error
	switch {
	case !errors.As(err, &je):
		return "the link check failed"
	case je.Kind == jira.KindNetwork:
		return "Jira did not answer the link check"
	case je.OAuthProblem != "":
		return "Jira refuses the link (" + je.OAuthProblem + ")"
	}
	return fmt.Sprintf("Jira refuses the link (%d)", je.StatusCode)
}

// asanaClient reads Asana with the file's token, for names without gids.
func (p *planner) asanaClient(where string) (*asana.Client, error) {
	if p.asana != nil {
		return p.asana, nil
	}
	token, err := p.env.secret("asana token", p.f.Asana.TokenEnv, p.f.Asana.TokenFile)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, invalid("%s is named without its gid: give asana.token_env or asana.token_file so apply can look the name up in Asana, or give the gid.", where)
	}
	base := strings.TrimRight(or(p.env.AsanaURL, "https://app.asana.com"), "/")
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &asana.BearerTransport{Token: token}}
	c, err := asana.New(base+"/api/1.0", hc, asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 2}))
	if err != nil {
		return nil, fmt.Errorf("setup: asana: %w", err)
	}
	p.asana = c
	return c, nil
}

// byName finds the one item named name among what Asana lists.
func byName[T any](ctx context.Context, where, kind, name string, list func(context.Context) ([]T, error), nameOf, gidOf func(T) string) (string, error) {
	all, err := list(ctx)
	if err != nil {
		return "", &Error{Code: Invalid, Err: err, Message: fmt.Sprintf("%s: Asana did not list the %ss to find %q: %v", where, kind, name, err)}
	}
	var gids []string
	for _, x := range all {
		if nameOf(x) == name {
			gids = append(gids, gidOf(x))
		}
	}
	switch len(gids) {
	case 1:
		return gids[0], nil
	case 0:
		return "", invalid("%s: Asana has no %s named %q that the token's user can see; check the name or give its gid.", where, kind, name)
	}
	return "", invalid("%s: Asana has %d %ss named %q (%s); give the gid.", where, len(gids), kind, name, strings.Join(gids, ", "))
}

func collect[T any](seq func(func(T, error) bool)) ([]T, error) {
	var out []T
	for x, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// workspaces plans each workspace with its connections, sync settings
// and routes.
func (p *planner) workspaces(ctx context.Context) error {
	stored, err := p.s.Workspaces(ctx)
	if err != nil {
		return err
	}
	conns, err := p.s.Connections(ctx)
	if err != nil {
		return err
	}
	for i, e := range p.f.Workspaces {
		where := fmt.Sprintf("workspaces[%d] (%s)", i, or(e.Name, e.GID))
		gid := e.GID
		if gid == "" {
			c, err := p.asanaClient("workspace " + e.Name)
			if err != nil {
				return err
			}
			gid, err = byName(ctx, where, "workspace", e.Name,
				func(ctx context.Context) ([]asana.Workspace, error) { return collect(c.Workspaces(ctx)) },
				func(w asana.Workspace) string { return w.Name }, func(w asana.Workspace) string { return w.GID })
			if err != nil {
				return err
			}
		}
		p.ws[i] = gid
		name := or(e.Name, "Workspace "+gid)
		label := fmt.Sprintf("workspace %q (%s)", name, gid)
		j := slices.IndexFunc(stored, func(w store.Workspace) bool { return w.GID == gid })
		switch {
		case j < 0:
			p.add(OpAdd, label, func(ctx context.Context, st *applyState) error {
				_, _, err := p.s.AddWorkspace(ctx, st.actor, gid, name)
				return err
			})
		case e.Name != "" && stored[j].Name != e.Name:
			p.add(OpChange, fmt.Sprintf("%s: rename it from %q", label, stored[j].Name), func(ctx context.Context, st *applyState) error {
				_, _, err := p.s.AddWorkspace(ctx, st.actor, gid, name)
				return err
			})
		}
		if err := p.connections(ctx, e, gid, name, conns); err != nil {
			return err
		}
		if err := p.routes(ctx, e, where, gid, name); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) connections(ctx context.Context, e WorkspaceEntry, gid, wsName string, conns []store.Connection) error {
	names := p.serverNames(ctx)
	var have []store.Connection
	for _, c := range conns {
		if c.WorkspaceGID == gid {
			have = append(have, c)
		}
	}
	for _, c := range e.Connections {
		server, isDefault := c.Server, c.Default
		label := fmt.Sprintf("connection %q × %q", wsName, server)
		if isDefault {
			label += " (default)"
		}
		id, exists := p.ids[server]
		j := slices.IndexFunc(have, func(x store.Connection) bool { return exists && x.JiraServerID == id })
		connect := func(ctx context.Context, st *applyState) error {
			id, err := st.server(server)
			if err != nil {
				return err
			}
			_, err = p.s.Connect(ctx, st.actor, gid, id, isDefault)
			return err
		}
		switch {
		case j < 0:
			p.add(OpAdd, label, connect)
		case have[j].IsDefault != isDefault:
			p.add(OpChange, fmt.Sprintf("connection %q × %q: default %v → %v", wsName, server, have[j].IsDefault, isDefault), connect)
		}
		if c.Sync != nil {
			if err := p.sync(ctx, c, gid, wsName, id, j >= 0); err != nil {
				return err
			}
		}
	}
	for _, c := range have {
		if !slices.ContainsFunc(e.Connections, func(x ConnectionEntry) bool { return p.ids[x.Server] == c.JiraServerID }) {
			id := c.JiraServerID
			p.remove(fmt.Sprintf("connection %q × %q", wsName, or(names[id], id)), func(ctx context.Context, st *applyState) error {
				return p.s.Disconnect(ctx, st.actor, gid, id)
			})
		}
	}
	return nil
}

// serverNames maps stored server ids to names, for removals.
func (p *planner) serverNames(ctx context.Context) map[string]string {
	out := map[string]string{}
	all, _ := p.s.Servers(ctx) // read just before; a failure shows ids instead of names
	for _, s := range all {
		out[s.ID] = s.Name
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// sync plans a connection's sync settings and, when the file gives it, its
// field mapping.
func (p *planner) sync(ctx context.Context, c ConnectionEntry, gid, wsName, serverID string, connected bool) error {
	if err := p.syncSettings(ctx, c, gid, wsName, serverID, connected); err != nil {
		return err
	}
	if c.Sync.Fields != nil {
		return p.fields(ctx, c, gid, wsName, serverID, connected)
	}
	return nil
}

// syncSettings plans a connection's sync settings.
func (p *planner) syncSettings(ctx context.Context, c ConnectionEntry, gid, wsName, serverID string, connected bool) error {
	if p.s.sync == nil {
		return invalid("The setup file sets sync settings for %q × %q, but this asanajira has no sync engine to take them.", wsName, c.Server)
	}
	want := store.SyncSettings{WorkspaceGID: gid, Enabled: c.Sync.Enabled, Comments: true, Completion: true,
		DoneTransition: strings.TrimSpace(c.Sync.DoneTransition), ReopenTransition: strings.TrimSpace(c.Sync.ReopenTransition)}
	if c.Sync.Comments != nil {
		want.Comments = *c.Sync.Comments
	}
	if c.Sync.Completion != nil {
		want.Completion = *c.Sync.Completion
	}
	op, what := OpAdd, fmt.Sprintf("sync settings of %q × %q: %s", wsName, c.Server, DescribeSync(want))
	if connected {
		have, err := p.s.sync.Settings(ctx, gid, serverID)
		if err != nil {
			return fmt.Errorf("setup: sync settings: %w", err)
		}
		if sameSync(have, want) {
			return nil
		}
		op, what = OpChange, fmt.Sprintf("sync settings of %q × %q: %s → %s", wsName, c.Server, DescribeSync(have), DescribeSync(want))
	}
	server := c.Server
	p.add(op, what, func(ctx context.Context, st *applyState) error {
		id, err := st.server(server)
		if err != nil {
			return err
		}
		s := want
		s.JiraServerID = id
		if err := p.s.sync.PutSettings(ctx, s, string(st.actor)); err != nil {
			return &Error{Code: Invalid, Err: err, Message: "The sync engine refused the settings: " + err.Error()}
		}
		return p.s.audit(ctx, st.actor, "sync.settings", gid+"/"+id, DescribeSync(s))
	})
	return nil
}

// fields plans a connection's field mapping.
func (p *planner) fields(ctx context.Context, c ConnectionEntry, gid, wsName, serverID string, connected bool) error {
	fm, ok := p.s.sync.(FieldMappings)
	if !ok {
		return invalid("The setup file sets a field mapping for %q × %q, but this asanajira's sync engine takes none.", wsName, c.Server)
	}
	want := mappingOf(c.Sync.Fields)
	if err := want.Validate(); err != nil {
		return invalid("The field mapping of %q × %q: %v", wsName, c.Server, err)
	}
	op, what := OpAdd, fmt.Sprintf("field mapping of %q × %q: %s", wsName, c.Server, describeMapping(want))
	if connected {
		have, err := fm.GetMapping(ctx, gid, serverID, "")
		switch {
		case err == nil:
			if sameMapping(have.Mapping, want) {
				return nil
			}
			op, what = OpChange, fmt.Sprintf("field mapping of %q × %q: %s → %s", wsName, c.Server, describeMapping(have.Mapping), describeMapping(want))
		case !errors.Is(err, syncengine.ErrNoMapping):
			return fmt.Errorf("setup: field mapping: %w", err)
		}
	}
	server := c.Server
	p.add(op, what, func(ctx context.Context, st *applyState) error {
		id, err := st.server(server)
		if err != nil {
			return err
		}
		if err := fm.PutMapping(ctx, gid, id, "", want, string(st.actor)); err != nil {
			return &Error{Code: Invalid, Err: err, Message: "The sync engine refused the field mapping: " + err.Error()}
		}
		return p.s.audit(ctx, st.actor, "sync.fields", mappingTarget(gid, id, ""), describeMapping(want))
	})
	return nil
}

// mappingOf is the sync engine's mapping a setup file's fields: block says.
func mappingOf(e *FieldsEntry) syncengine.Mapping {
	var m syncengine.Mapping
	for f, d := range e.Directions {
		if m.Fields == nil {
			m.Fields = map[string]syncengine.Direction{}
		}
		m.Fields[f] = syncengine.Direction(strings.TrimSpace(d))
	}
	for _, s := range e.StatusSections {
		m.StatusSections = append(m.StatusSections, syncengine.StatusSection{Status: s.Status, Section: s.Section})
	}
	for _, u := range e.Users {
		m.Users = append(m.Users, syncengine.UserPair{AsanaEmail: u.AsanaEmail, JiraUser: u.JiraUser})
	}
	for _, a := range e.DomainAliases {
		m.DomainAliases = append(m.DomainAliases, syncengine.DomainAlias{Asana: a.Asana, Jira: a.Jira})
	}
	return m
}

// describeMapping says a mapping's directions, table, pairs and aliases in
// one line.
func describeMapping(m syncengine.Mapping) string {
	var parts []string
	for _, f := range syncengine.Fields {
		parts = append(parts, f+" "+string(m.Direction(f)))
	}
	out := strings.Join(parts, ", ")
	if n := len(m.StatusSections); n > 0 {
		out += fmt.Sprintf("; %d status → section row(s)", n)
	}
	if n := len(m.Users); n > 0 {
		out += fmt.Sprintf("; %d user pair(s)", n)
	}
	for _, a := range m.DomainAliases {
		out += "; " + a.Asana + " ↔ " + a.Jira
	}
	return out
}

func (p *planner) routes(ctx context.Context, e WorkspaceEntry, where, gid, wsName string) error {
	have, err := p.s.Routes(ctx, gid)
	if err != nil {
		return err
	}
	names := p.serverNames(ctx)
	var want []string
	for _, r := range e.Routes {
		project, label := r.ProjectGID, r.ProjectGID
		if project == "" {
			c, err := p.asanaClient("project " + r.Project)
			if err != nil {
				return err
			}
			project, err = byName(ctx, where, "project", r.Project,
				func(ctx context.Context) ([]asana.Project, error) { return collect(c.Projects(ctx, gid)) },
				func(x asana.Project) string { return x.Name }, func(x asana.Project) string { return x.GID })
			if err != nil {
				return err
			}
			label = fmt.Sprintf("%q (%s)", r.Project, project)
		}
		want = append(want, project)
		server, key := r.Server, strings.ToUpper(strings.TrimSpace(r.JiraProject))
		id, exists := p.ids[server]
		set := func(ctx context.Context, st *applyState) error {
			id, err := st.server(server)
			if err != nil {
				return err
			}
			_, err = p.s.SetRoute(ctx, st.actor, store.ProjectRoute{WorkspaceGID: gid, ProjectGID: project, JiraServerID: id, JiraProjectKey: key})
			return err
		}
		target := fmt.Sprintf("%q", server)
		if key != "" {
			target += " (" + key + ")"
		}
		j := slices.IndexFunc(have, func(x store.ProjectRoute) bool { return x.ProjectGID == project })
		switch {
		case j < 0:
			p.add(OpAdd, fmt.Sprintf("route of %q project %s → %s", wsName, label, target), set)
		case !exists || have[j].JiraServerID != id || have[j].JiraProjectKey != key:
			from := fmt.Sprintf("%q", or(names[have[j].JiraServerID], have[j].JiraServerID))
			if have[j].JiraProjectKey != "" {
				from += " (" + have[j].JiraProjectKey + ")"
			}
			p.add(OpChange, fmt.Sprintf("route of %q project %s: %s → %s", wsName, label, from, target), set)
		}
	}
	for _, r := range have {
		if !slices.Contains(want, r.ProjectGID) {
			project, server := r.ProjectGID, or(names[r.JiraServerID], r.JiraServerID)
			p.remove(fmt.Sprintf("route of %q project %s → %q", wsName, project, server), func(ctx context.Context, st *applyState) error {
				return p.s.RemoveRoute(ctx, st.actor, gid, project)
			})
		}
	}
	return nil
}

// pruneWorkspaces plans the removal of workspaces the file does not list.
func (p *planner) pruneWorkspaces(ctx context.Context) error {
	stored, err := p.s.Workspaces(ctx)
	if err != nil {
		return err
	}
	for _, w := range stored {
		listed := false
		for i := range p.f.Workspaces {
			listed = listed || p.ws[i] == w.GID
		}
		if !listed {
			gid := w.GID
			p.remove(fmt.Sprintf("workspace %q (%s) with its connections and routes", w.Name, gid), func(ctx context.Context, st *applyState) error {
				return p.s.RemoveWorkspace(ctx, st.actor, gid)
			})
		}
	}
	return nil
}

// pruneServers plans the removal of servers the file does not list. Jira
// is left as it is (the file has no credentials for a server it does not
// list); apply says what to delete there.
func (p *planner) pruneServers(ctx context.Context) error {
	all, err := p.s.Servers(ctx)
	if err != nil {
		return err
	}
	for _, srv := range all {
		if slices.ContainsFunc(p.f.JiraServers, func(e ServerEntry) bool { return p.ids[e.Name] == srv.ID }) {
			continue
		}
		id := srv.ID
		what := fmt.Sprintf("jira server %q at %s with its connections, routes, users' authorizations and links", srv.Name, srv.BaseURL)
		p.remove(what, func(ctx context.Context, st *applyState) error {
			rm, err := p.s.RemoveServer(ctx, st.actor, id, JiraAdmin{})
			for _, l := range rm.LeftInJira {
				p.note("removed jira server %q; also delete in Jira: %s.", srv.Name, l)
			}
			return err
		})
	}
	return nil
}
