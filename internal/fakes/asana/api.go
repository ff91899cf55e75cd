package asana

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiError is an Asana REST error answer.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, a ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, a...)}
}

const errorsHelp = "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"

// writeAPIError answers with Asana's error envelope.
func writeAPIError(w http.ResponseWriter, status int, msg string) {
	e := obj{"message": msg, "help": errorsHelp}
	if status >= 500 {
		e["phrase"] = "6 sad squid snuggle softly"
	}
	writeJSON(w, status, obj{"errors": []obj{e}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a failed write means the client went away.
}

type ctxKey int

const userKey ctxKey = 1

// apiRequest is what a REST handler gets: the caller, the parsed body and
// the requested fields.
type apiRequest struct {
	r         *http.Request
	user      string
	viaOAuth  bool
	client    string // the OAuth app's client id; "" for a personal access token
	data      map[string]any
	optFields []string
}

type apiHandler func(w http.ResponseWriter, q *apiRequest) error

type caller struct {
	user   string
	oauth  bool
	client string
}

// serveAPI authenticates the bearer token, applies rate limits and hands the
// request to the REST route.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Robots-Tag", "none")
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeAPIError(w, http.StatusUnauthorized, "Not Authorized")
		return
	}
	c, err := s.authenticate(token)
	if err != nil {
		writeAPIError(w, http.StatusUnauthorized, err.Error())
		return
	}
	release, retryAfter, limited := s.admit(token, r.Method)
	if limited {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeAPIError(w, http.StatusTooManyRequests, "You have made too many requests recently. Please, be chill.")
		return
	}
	defer release()
	r = r.WithContext(context.WithValue(r.Context(), userKey, c))
	s.api.ServeHTTP(w, r)
}

// authenticate maps a bearer token to its user.
func (s *Server) authenticate(token string) (caller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gid, ok := s.st.pats[token]; ok {
		return caller{user: gid}, nil
	}
	at, ok := s.st.access[token]
	if !ok {
		return caller{}, errors.New("Not Authorized")
	}
	if !s.nowLocked().Before(at.expires) {
		return caller{}, errors.New("The bearer token has expired. If you have a refresh token, please use it to get a new bearer token.")
	}
	return caller{user: at.user, oauth: true, client: at.clientID}, nil
}

// apiMux builds the REST routes under /api/1.0.
func (s *Server) apiMux() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, fn apiHandler) {
		method, path, _ := strings.Cut(pattern, " ")
		m.HandleFunc(method+" /api/1.0"+path, func(w http.ResponseWriter, r *http.Request) { s.runAPI(w, r, fn) })
	}
	h("GET /users/{user_gid}", s.getUser)
	h("GET /users", s.listUsers)
	h("GET /workspaces/{workspace_gid}/users", s.listUsers)
	h("GET /workspaces", s.listWorkspaces)
	h("GET /workspaces/{workspace_gid}", s.getWorkspace)
	h("GET /projects", s.listProjects)
	h("GET /workspaces/{workspace_gid}/projects", s.listProjects)
	h("POST /projects", s.createProject)
	h("POST /workspaces/{workspace_gid}/projects", s.createProject)
	h("GET /workspaces/{workspace_gid}/typeahead", s.typeahead)
	h("GET /projects/{project_gid}", s.getProject)
	h("GET /projects/{project_gid}/tasks", s.listTasks)
	h("GET /tasks", s.listTasks)
	h("POST /tasks", s.createTask)
	h("GET /tasks/{task_gid}", s.getTask)
	h("PUT /tasks/{task_gid}", s.updateTask)
	h("DELETE /tasks/{task_gid}", s.deleteTask)
	h("GET /tasks/{task_gid}/stories", s.listStories)
	h("POST /tasks/{task_gid}/stories", s.createStory)
	h("GET /stories/{story_gid}", s.getStory)
	h("PUT /stories/{story_gid}", s.updateStory)
	h("DELETE /stories/{story_gid}", s.deleteStory)
	h("GET /projects/{project_gid}/sections", s.listSections)
	h("POST /projects/{project_gid}/sections", s.createSection)
	h("GET /sections/{section_gid}", s.getSection)
	h("GET /sections/{section_gid}/tasks", s.listSectionTasks)
	h("POST /sections/{section_gid}/addTask", s.addTaskToSection)
	h("POST /custom_fields", s.createCustomField)
	h("GET /custom_fields/{custom_field_gid}", s.getCustomField)
	h("POST /custom_fields/{custom_field_gid}/enum_options", s.createEnumOption)
	h("GET /workspaces/{workspace_gid}/custom_fields", s.listWorkspaceCustomFields)
	h("GET /projects/{project_gid}/custom_field_settings", s.listCustomFieldSettings)
	h("POST /projects/{project_gid}/addCustomFieldSetting", s.addCustomFieldSetting)
	h("GET /attachments", s.listAttachments)
	h("POST /attachments", s.createAttachment)
	h("GET /attachments/{attachment_gid}", s.getAttachment)
	h("DELETE /attachments/{attachment_gid}", s.deleteAttachment)
	h("GET /webhooks", s.listWebhooks)
	h("POST /webhooks", s.createWebhook)
	h("GET /webhooks/{webhook_gid}", s.getWebhook)
	h("PUT /webhooks/{webhook_gid}", s.updateWebhook)
	h("DELETE /webhooks/{webhook_gid}", s.deleteWebhook)
	h("GET /events", s.getEvents)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.unknownRoute(r)
		writeAPIError(w, http.StatusNotFound, "No matching route for request")
	})
	return m
}

// maxBody bounds request bodies; attachments may be up to 100 MB as on Asana.
const maxBody = 100 << 20

func (s *Server) runAPI(w http.ResponseWriter, r *http.Request, fn apiHandler) {
	c, _ := r.Context().Value(userKey).(caller)
	q := &apiRequest{r: r, user: c.user, viaOAuth: c.oauth, client: c.client}
	var bodyFields []string
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "multipart/form-data" {
			data, fields, err := readBody(w, r)
			if err != nil {
				writeAPIError(w, http.StatusBadRequest, err.Error())
				return
			}
			q.data, bodyFields = data, fields
		}
	}
	q.optFields = parseOptFields(r.URL.Query(), bodyFields)
	if err := fn(w, q); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			writeAPIError(w, ae.status, ae.msg)
			return
		}
		s.log.Error("asana emulator: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeAPIError(w, http.StatusInternalServerError, "Server Error")
	}
}

// readBody decodes {"data": {...}, "options": {"fields": [...]}} or a
// form-encoded body (whose opt_ fields are options).
func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, []string, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("could not read the request body: %w", err)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		v, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, nil, fmt.Errorf("could not parse the form body: %w", err)
		}
		data := map[string]any{}
		var fields []string
		for k, vs := range v {
			if k == "opt_fields" {
				fields = append(fields, strings.Split(vs[0], ",")...)
				continue
			}
			data[k] = vs[0]
		}
		return data, fields, nil
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return map[string]any{}, nil, nil
	}
	var env struct {
		Data    map[string]any `json:"data"`
		Options struct {
			Fields []string `json:"fields"`
		} `json:"options"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, nil, fmt.Errorf("Could not parse request data, invalid JSON: %w", err)
	}
	if env.Data == nil {
		env.Data = map[string]any{}
	}
	return env.Data, env.Options.Fields, nil
}

// writeOne answers one resource: the full record, or the requested fields.
func writeOne(w http.ResponseWriter, status int, q *apiRequest, full obj) error {
	writeJSON(w, status, obj{"data": selectFields(full, q.optFields, false)})
	return nil
}

// writeList answers a list with Asana's offset pagination: limit 1..100,
// offset an opaque token, next_page present only when limit was sent.
func (s *Server) writeList(w http.ResponseWriter, q *apiRequest, items []obj) error {
	v := q.r.URL.Query()
	start, end := 0, len(items)
	paged := v.Has("limit")
	if paged {
		limit, err := strconv.Atoi(v.Get("limit"))
		if err != nil || limit < 1 || limit > 100 {
			return errorf(http.StatusBadRequest, "limit: Must be between 1 and 100")
		}
		if off := v.Get("offset"); off != "" {
			n, ok := decodeOffset(off)
			if !ok || n > len(items) {
				return errorf(http.StatusBadRequest, "offset: Your pagination token is invalid or has expired.")
			}
			start = n
		}
		end = min(start+limit, len(items))
	} else if v.Has("offset") {
		return errorf(http.StatusBadRequest, "offset: An offset requires a limit")
	}
	out := make([]obj, 0, end-start)
	for _, it := range items[start:end] {
		out = append(out, selectFields(it, q.optFields, true))
	}
	body := obj{"data": out}
	if paged {
		body["next_page"] = nil
		if end < len(items) {
			off := encodeOffset(end)
			nv := url.Values{}
			for k, vs := range v {
				nv[k] = vs
			}
			nv.Set("offset", off)
			path := strings.TrimPrefix(q.r.URL.Path, "/api/1.0") + "?" + nv.Encode()
			s.mu.Lock()
			base := s.st.baseURL
			s.mu.Unlock()
			body["next_page"] = obj{"offset": off, "path": path, "uri": base + "/api/1.0" + path}
		}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func encodeOffset(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("asana-emulator-offset:" + strconv.Itoa(n)))
}

func decodeOffset(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), "asana-emulator-offset:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// str reads a string field from a request body.
func str(data map[string]any, key string) (string, bool) {
	v, ok := data[key]
	if !ok {
		return "", false
	}
	switch t := v.(type) {
	case string:
		return t, true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}
