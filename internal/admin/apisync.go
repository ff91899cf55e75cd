package admin

import (
	"net/http"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
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

func (c *adminAPI) getSync(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	set, err := c.setup.ConnectionSync(r.Context(), r.PathValue("workspace"), r.PathValue("server"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewSync(set))
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

func (c *adminAPI) getFields(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	m, saved, err := c.setup.FieldMapping(r.Context(), r.PathValue("workspace"), r.PathValue("server"), r.URL.Query().Get("project"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewFieldMapping(m, saved))
	return nil
}

// putFields saves a mapping; a field it leaves out takes its default
// direction, as in an apply file.
func (c *adminAPI) putFields(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in setup.FieldMappingView
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Saved != nil {
		return httpx.Errorf(http.StatusBadRequest, "saved is shown by GET and cannot be set")
	}
	ch, err := c.setup.SetFieldMapping(r.Context(), actor, r.PathValue("workspace"), r.PathValue("server"), r.URL.Query().Get("project"), in.Mapping())
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
