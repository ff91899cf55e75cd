package admin

import (
	"net/http"
	"time"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// The admin API's sync endpoints: a connection's two-way sync settings and
// its field mapping (or a routed project's override, ?project=GID), the
// same operations as the console's Sync and Fields pages, through the same
// setup service. Their JSON uses the names of an `apply` file's `sync:`
// block, so a script can move between the two.

func (c *adminAPI) mountSync(m *http.ServeMux, read, write func(apiFunc) http.Handler) {
	m.Handle("GET "+apiPrefix+"/sync/{workspace}/{server}", read(c.getSync))
	m.Handle("PUT "+apiPrefix+"/sync/{workspace}/{server}", write(c.putSync))
	m.Handle("GET "+apiPrefix+"/sync/{workspace}/{server}/fields", read(c.getFields))
	m.Handle("PUT "+apiPrefix+"/sync/{workspace}/{server}/fields", write(c.putFields))
	m.Handle("DELETE "+apiPrefix+"/sync/{workspace}/{server}/fields", write(c.deleteFields))
}

// syncJSON is a connection's sync settings as the API shows them.
type syncJSON struct {
	Workspace        string     `json:"workspace"`
	Server           string     `json:"server"`
	Enabled          bool       `json:"enabled"`
	Comments         bool       `json:"comments"`
	Completion       bool       `json:"completion"`
	DoneTransition   string     `json:"done_transition"`
	ReopenTransition string     `json:"reopen_transition"`
	EnabledAt        *time.Time `json:"enabled_at,omitempty"`
	UpdatedBy        string     `json:"updated_by,omitempty"`
	UpdatedAt        *time.Time `json:"updated_at,omitempty"`
}

func viewSync(s store.SyncSettings) syncJSON {
	when := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	return syncJSON{Workspace: s.WorkspaceGID, Server: s.JiraServerID, Enabled: s.Enabled, Comments: s.Comments,
		Completion: s.Completion, DoneTransition: s.DoneTransition, ReopenTransition: s.ReopenTransition,
		EnabledAt: when(s.EnabledAt), UpdatedBy: s.UpdatedBy, UpdatedAt: when(s.UpdatedAt)}
}

func (c *adminAPI) getSync(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	set, err := c.setup.ConnectionSync(r.Context(), r.PathValue("workspace"), r.PathValue("server"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, viewSync(set))
	return nil
}

// putSync sets a connection's sync settings; as in an apply file, comments
// and completion sync unless the request says otherwise.
func (c *adminAPI) putSync(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		Enabled          bool   `json:"enabled"`
		Comments         *bool  `json:"comments"`
		Completion       *bool  `json:"completion"`
		DoneTransition   string `json:"done_transition"`
		ReopenTransition string `json:"reopen_transition"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	on := func(b *bool) bool { return b == nil || *b }
	ch, err := c.setup.SetConnectionSync(r.Context(), actor, store.SyncSettings{WorkspaceGID: r.PathValue("workspace"),
		JiraServerID: r.PathValue("server"), Enabled: in.Enabled, Comments: on(in.Comments), Completion: on(in.Completion),
		DoneTransition: in.DoneTransition, ReopenTransition: in.ReopenTransition})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, changed{ch})
	return nil
}

// fieldsJSON is a field mapping as the API shows and takes it.
type fieldsJSON struct {
	// Saved is false when no mapping is saved there: for a connection its
	// fields do not sync, for a project the connection's mapping applies;
	// what is shown is then what a save would start from. Output only.
	Saved          *bool                           `json:"saved,omitempty"`
	Directions     map[string]syncengine.Direction `json:"directions"`
	StatusSections []syncengine.StatusSection      `json:"status_sections"`
	Users          []syncengine.UserPair           `json:"users"`
	DomainAliases  []syncengine.DomainAlias        `json:"domain_aliases"`
}

func viewFields(m syncengine.Mapping, saved bool) fieldsJSON {
	out := fieldsJSON{Saved: &saved, Directions: m.Directions(), StatusSections: m.StatusSections, Users: m.Users, DomainAliases: m.DomainAliases}
	// Lists are never null, so a script can range over them.
	if out.StatusSections == nil {
		out.StatusSections = []syncengine.StatusSection{}
	}
	if out.Users == nil {
		out.Users = []syncengine.UserPair{}
	}
	if out.DomainAliases == nil {
		out.DomainAliases = []syncengine.DomainAlias{}
	}
	return out
}

func (c *adminAPI) getFields(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	m, saved, err := c.setup.FieldMapping(r.Context(), r.PathValue("workspace"), r.PathValue("server"), r.URL.Query().Get("project"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, viewFields(m, saved))
	return nil
}

// putFields saves a mapping; a field it leaves out takes its default
// direction, as in an apply file.
func (c *adminAPI) putFields(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in fieldsJSON
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Saved != nil {
		return httpx.Errorf(http.StatusBadRequest, "saved is shown by GET and cannot be set")
	}
	m := syncengine.Mapping{Fields: in.Directions, StatusSections: in.StatusSections, Users: in.Users, DomainAliases: in.DomainAliases}
	ch, err := c.setup.SetFieldMapping(r.Context(), actor, r.PathValue("workspace"), r.PathValue("server"), r.URL.Query().Get("project"), m)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, changed{ch})
	return nil
}

func (c *adminAPI) deleteFields(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	if err := c.setup.RemoveFieldMapping(r.Context(), actor, r.PathValue("workspace"), r.PathValue("server"), r.URL.Query().Get("project")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
