package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// The JSON admin API under /admin/api/v1/: the setup operations of the
// console for scripts, authenticated with admin API tokens
// ("Authorization: Bearer ajt_…"). A read token may call GET only; a write
// token everything. Every change goes through the setup service and is
// audited as "API token <name> (<id>)". docs/admin-api.yaml is its
// OpenAPI description; the tests hold every request and answer to it.

const apiPrefix = "/admin/api/v1"

// minuteOfUse is how often a token's last use is recorded.
const minuteOfUse = time.Minute

var (
	errUnauthenticated = errors.New("admin: no valid API token")
	errRevoked         = errors.New("admin: the API token was revoked")
)

// apiError is every error the API answers with.
type apiError struct {
	Error string `json:"error"`
	// Code is one of bad_request, unauthorized, forbidden, not_found,
	// conflict, invalid, jira_failed, too_large, internal.
	Code string `json:"code"`
	// Step is the step of a change in Jira that failed.
	Step string `json:"step,omitempty"`
}

// adminAPI serves the JSON admin API.
type adminAPI struct{ *base }

// apiFunc is an API handler; the token is the caller's.
type apiFunc func(w http.ResponseWriter, r *http.Request, actor setup.Actor) error

func (c *adminAPI) mount(m *http.ServeMux) {
	read, write := c.handler(store.ScopeRead), c.handler(store.ScopeWrite)
	m.Handle("GET "+apiPrefix+"/servers", read(c.listServers))
	m.Handle("POST "+apiPrefix+"/servers", write(c.registerServer))
	m.Handle("GET "+apiPrefix+"/servers/{id}", read(c.getServer))
	m.Handle("PATCH "+apiPrefix+"/servers/{id}", write(c.updateServer))
	m.Handle("DELETE "+apiPrefix+"/servers/{id}", write(c.deleteServer))
	m.Handle("POST "+apiPrefix+"/servers/{id}/remove", write(c.removeServer))
	m.Handle("GET "+apiPrefix+"/servers/{id}/doctor", read(c.doctor))
	m.Handle("POST "+apiPrefix+"/servers/{id}/connect", write(c.connectServer))
	m.Handle("POST "+apiPrefix+"/servers/{id}/verify", write(c.verifyServer))
	m.Handle("POST "+apiPrefix+"/servers/{id}/webhook/repair", write(c.repairWebhook))
	m.Handle("POST "+apiPrefix+"/servers/{id}/webhook/manual", write(c.manualWebhook))
	m.Handle("PUT "+apiPrefix+"/servers/{id}/oauth2", write(c.setOAuth2))
	m.Handle("PUT "+apiPrefix+"/servers/{id}/methods", write(c.setMethods))
	m.Handle("PUT "+apiPrefix+"/servers/{id}/ca-bundle", write(c.setCABundle))
	m.Handle("GET "+apiPrefix+"/workspaces", read(c.listWorkspaces))
	m.Handle("PUT "+apiPrefix+"/workspaces/{gid}", write(c.putWorkspace))
	m.Handle("DELETE "+apiPrefix+"/workspaces/{gid}", write(c.deleteWorkspace))
	m.Handle("GET "+apiPrefix+"/routing", read(c.routing))
	m.Handle("PUT "+apiPrefix+"/connections/{workspace}/{server}", write(c.putConnection))
	m.Handle("DELETE "+apiPrefix+"/connections/{workspace}/{server}", write(c.deleteConnection))
	m.Handle("PUT "+apiPrefix+"/routes/{workspace}/{project}", write(c.putRoute))
	m.Handle("DELETE "+apiPrefix+"/routes/{workspace}/{project}", write(c.deleteRoute))
	c.mountSync(m, read, write)
	// Anything else under the API answers in JSON too.
	m.Handle(apiPrefix+"/", read(func(http.ResponseWriter, *http.Request, setup.Actor) error {
		return httpx.Errorf(http.StatusNotFound, "no such API endpoint; docs/admin-api.yaml lists them")
	}))
}

// handler wraps fn with token authentication and the scope check; a
// returned error becomes one JSON answer and one log line.
func (c *adminAPI) handler(scope string) func(apiFunc) http.Handler {
	return func(fn apiFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t, err := c.authenticate(r.Context(), r.Header.Get("Authorization"))
			if err == nil && scope == store.ScopeWrite && t.Scope != store.ScopeWrite {
				err = httpx.Errorf(http.StatusForbidden, "the API token %q may only read; this needs a write token", t.Name)
			}
			if err == nil {
				err = fn(w, r, setup.APITokenActor(t.Name, t.ID))
			}
			if err != nil {
				c.apiFail(w, r, err)
			}
		})
	}
}

// apiFail answers err as JSON and logs it once.
func (c *adminAPI) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	out := apiError{Code: "internal", Error: "internal error; the server log has the details (request id " + httpx.RequestID(r.Context()) + ")"}
	var he *httpx.Error
	var se *setup.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errUnauthenticated), errors.Is(err, errRevoked):
		status, out.Code = http.StatusUnauthorized, "unauthorized"
		out.Error = "give a live admin API token: Authorization: Bearer ajt_… (an admin creates one on the console's API tokens page)"
		if errors.Is(err, errRevoked) {
			out.Error = "this admin API token was revoked; an admin can create another on the console's API tokens page"
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="asanajira admin API"`)
	case errors.As(err, &he):
		status, out.Error = he.Status, he.Msg
		out.Code = map[int]string{http.StatusBadRequest: "bad_request", http.StatusForbidden: "forbidden", http.StatusNotFound: "not_found",
			http.StatusRequestEntityTooLarge: "too_large"}[status]
	case errors.As(err, &se) && se.Code != 0:
		status, out.Error, out.Step = setupStatus(se.Code), se.Message, se.Step
		out.Code = map[setup.Code]string{setup.Invalid: "invalid", setup.NotFound: "not_found", setup.Conflict: "conflict", setup.JiraFailed: "jira_failed"}[se.Code]
	case errors.As(err, &mbe):
		status, out.Code, out.Error = http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)
	}
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	c.log.LogAttrs(r.Context(), level, "admin API request failed", slog.String("request_id", httpx.RequestID(r.Context())),
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err))
	httpx.WriteJSON(w, status, out)
}

// decode reads a JSON body into v, refusing unknown fields, so a
// misspelt field is an error rather than a silent default.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return httpx.Errorf(http.StatusBadRequest, "the request needs a JSON body")
		}
		return httpx.Errorf(http.StatusBadRequest, "the request body is not the JSON expected: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// jiraAdminJSON is a Jira administrator's credentials in a request body.
type jiraAdminJSON struct {
	Token    string `json:"token"`
	User     string `json:"user"`
	Password string `json:"password"`
}

func (j *jiraAdminJSON) admin() setup.JiraAdmin {
	if j == nil {
		return setup.JiraAdmin{}
	}
	return setup.JiraAdmin{Token: j.Token, User: j.User, Password: j.Password}
}

type changedServer struct {
	Changed bool             `json:"changed"`
	Server  setup.ServerView `json:"server"`
}

func (c *adminAPI) listServers(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	servers, err := c.setup.Servers(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
		Servers []setup.ServerView `json:"servers"`
	}{setup.ViewServers(servers)})
	return nil
}

func (c *adminAPI) registerServer(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		BaseURL        string         `json:"base_url"`
		Name           string         `json:"name"`
		ConnectAddress string         `json:"connect_address"`
		CABundlePEM    string         `json:"ca_bundle_pem"`
		JiraAdmin      *jiraAdminJSON `json:"jira_admin"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	reg, err := c.setup.RegisterServer(r.Context(), actor, setup.ServerInput{BaseURL: in.BaseURL, Name: in.Name, ConnectAddress: in.ConnectAddress, CABundlePEM: in.CABundlePEM})
	if err != nil {
		return err
	}
	srv := reg.Server
	if admin := in.JiraAdmin.admin(); admin.Given() {
		if srv, err = c.setup.ConnectAutomatic(r.Context(), actor, srv.ID, admin); err != nil {
			return err
		}
	}
	w.Header().Set("Location", apiPrefix+"/servers/"+srv.ID)
	httpx.WriteJSON(w, http.StatusCreated, struct {
		Server setup.ServerView   `json:"server"`
		Doctor setup.DoctorReport `json:"doctor"`
	}{setup.ViewServer(srv), reg.Doctor})
	return nil
}

func (c *adminAPI) getServer(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	srv, err := c.setup.Server(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewServer(srv))
	return nil
}

func (c *adminAPI) updateServer(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		Name           *string `json:"name"`
		ConnectAddress *string `json:"connect_address"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	srv, err := c.setup.UpdateServer(r.Context(), actor, r.PathValue("id"), setup.ServerChanges{Name: in.Name, ConnectAddress: in.ConnectAddress})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewServer(srv))
	return nil
}

type removal struct {
	Removed    setup.ServerView `json:"removed"`
	Undone     []string         `json:"undone"`
	LeftInJira []string         `json:"left_in_jira"`
}

func (c *adminAPI) remove(w http.ResponseWriter, r *http.Request, actor setup.Actor, admin setup.JiraAdmin) error {
	rm, err := c.setup.RemoveServer(r.Context(), actor, r.PathValue("id"), admin)
	if err != nil {
		return err
	}
	out := removal{Removed: setup.ViewServer(rm.Server), Undone: rm.Undone, LeftInJira: rm.LeftInJira}
	if out.Undone == nil {
		out.Undone = []string{}
	}
	if out.LeftInJira == nil {
		out.LeftInJira = []string{}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (c *adminAPI) deleteServer(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	return c.remove(w, r, actor, setup.JiraAdmin{})
}

func (c *adminAPI) removeServer(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		JiraAdmin *jiraAdminJSON `json:"jira_admin"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	return c.remove(w, r, actor, in.JiraAdmin.admin())
}

func (c *adminAPI) doctor(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	srv, err := c.setup.Server(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c.setup.Doctor(r.Context(), srv))
	return nil
}

func (c *adminAPI) connectServer(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		JiraAdmin *jiraAdminJSON `json:"jira_admin"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	srv, err := c.setup.ConnectAutomatic(r.Context(), actor, r.PathValue("id"), in.JiraAdmin.admin())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewServer(srv))
	return nil
}

func (c *adminAPI) verifyServer(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	srv, err := c.setup.Verify(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewServer(srv))
	return nil
}

func (c *adminAPI) repairWebhook(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		JiraAdmin *jiraAdminJSON `json:"jira_admin"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	rep, err := c.setup.RepairWebhook(r.Context(), actor, r.PathValue("id"), in.JiraAdmin.admin())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, changedServer{Changed: rep.Changed, Server: setup.ViewServer(rep.Server)})
	return nil
}

func (c *adminAPI) manualWebhook(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	srv, err := c.setup.RecordManualWebhook(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewServer(srv))
	return nil
}

func (c *adminAPI) setOAuth2(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	srv, err := c.setup.SetOAuth2Client(r.Context(), actor, r.PathValue("id"), in.ClientID, in.ClientSecret)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewServer(srv))
	return nil
}

func (c *adminAPI) setMethods(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		Methods []store.AuthMethod `json:"methods"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	srv, err := c.setup.SetMethods(r.Context(), actor, r.PathValue("id"), in.Methods)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewServer(srv))
	return nil
}

func (c *adminAPI) setCABundle(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		PEM string `json:"pem"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	srv, err := c.setup.SetCABundle(r.Context(), actor, r.PathValue("id"), in.PEM)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewServer(srv))
	return nil
}

func (c *adminAPI) listWorkspaces(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	all, err := c.setup.Workspaces(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Workspaces []setup.WorkspaceView `json:"workspaces"`
	}{Workspaces: []setup.WorkspaceView{}}
	for _, ws := range all {
		out.Workspaces = append(out.Workspaces, setup.ViewWorkspace(ws))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (c *adminAPI) putWorkspace(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ws, changed, err := c.setup.AddWorkspace(r.Context(), actor, r.PathValue("gid"), in.Name)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
		Changed   bool                `json:"changed"`
		Workspace setup.WorkspaceView `json:"workspace"`
	}{changed, setup.ViewWorkspace(ws)})
	return nil
}

func (c *adminAPI) deleteWorkspace(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	if err := c.setup.RemoveWorkspace(r.Context(), actor, r.PathValue("gid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *adminAPI) routing(w http.ResponseWriter, r *http.Request, _ setup.Actor) error {
	o, err := c.setup.Overview(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, setup.ViewRouting(o))
	return nil
}

type changed struct {
	Changed bool `json:"changed"`
}

func (c *adminAPI) putConnection(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		Default bool `json:"default"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ch, err := c.setup.Connect(r.Context(), actor, r.PathValue("workspace"), r.PathValue("server"), in.Default)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, changed{ch})
	return nil
}

func (c *adminAPI) deleteConnection(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	if err := c.setup.Disconnect(r.Context(), actor, r.PathValue("workspace"), r.PathValue("server")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *adminAPI) putRoute(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	var in struct {
		Server      string `json:"server"`
		JiraProject string `json:"jira_project"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ch, err := c.setup.SetRoute(r.Context(), actor, store.ProjectRoute{WorkspaceGID: r.PathValue("workspace"),
		ProjectGID: r.PathValue("project"), JiraServerID: in.Server, JiraProjectKey: in.JiraProject})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, changed{ch})
	return nil
}

func (c *adminAPI) deleteRoute(w http.ResponseWriter, r *http.Request, actor setup.Actor) error {
	if err := c.setup.RemoveRoute(r.Context(), actor, r.PathValue("workspace"), r.PathValue("project")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
