package jira

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// applink is an application link; its incoming OAuth consumer is what
// OAuth 1.0a requests are verified against.
type applink struct {
	id         string
	name       string
	rpcURL     string
	displayURL string
	typeID     string
	consumer   string // consumer key, "" until configured
	order      int
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (s *Server) applinkRoutes() {
	for _, v := range []string{"3.0", "latest"} {
		p := "/rest/applinks/" + v + "/applicationlink"
		s.route("PUT "+p, adminOnly, nil, s.putApplink)
		s.route("GET "+p, adminOnly, nil, s.listApplinks)
		s.route("GET "+p+"/{id}", adminOnly, nil, s.getApplink)
		s.route("DELETE "+p+"/{id}", adminOnly, nil, s.deleteApplink)
		s.route("PUT "+p+"/{id}/authentication/provider", adminOnly, nil, s.putProvider)
	}
	s.route("GET /rest/applinks/latest/listApplicationlinks", adminOnly, nil, s.listApplinksLegacy)
	c := "/rest/applinks-oauth/1.0/applicationlink/{id}/authentication/consumer"
	s.route("PUT "+c, adminOnly, nil, s.putConsumer)
	s.route("GET "+c, adminOnly, nil, s.getConsumer)
	s.route("DELETE "+c, adminOnly, nil, s.deleteConsumer)
}

func (s *Server) applinkJSON(l *applink) map[string]any {
	return map[string]any{
		"id": l.id, "name": l.name, "typeId": l.typeID, "rpcUrl": l.rpcURL, "displayUrl": l.displayURL,
		"primary": false, "system": false,
	}
}

func (s *Server) putApplink(w http.ResponseWriter, r *http.Request, _ *user) {
	var body struct {
		ID         *string `json:"id"`
		Name       string  `json:"name"`
		RPCURL     string  `json:"rpcUrl"`
		DisplayURL string  `json:"displayUrl"`
		TypeID     string  `json:"typeId"`
	}
	if err := decodeBody(r, &body); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	errs := map[string]string{}
	if body.Name == "" {
		errs["name"] = "Application name is required."
	}
	if !strings.HasPrefix(body.RPCURL, "http://") && !strings.HasPrefix(body.RPCURL, "https://") {
		errs["rpcUrl"] = "Application URL must be an absolute http(s) URL."
	}
	if len(errs) > 0 {
		s.writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	if body.DisplayURL == "" {
		body.DisplayURL = body.RPCURL
	}
	if body.TypeID == "" {
		body.TypeID = "generic"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if body.ID != nil && *body.ID != "" {
		if l := s.applinks[*body.ID]; l != nil {
			l.name, l.rpcURL, l.displayURL, l.typeID = body.Name, body.RPCURL, body.DisplayURL, body.TypeID
			writeJSON(w, http.StatusOK, s.applinkJSON(l))
			return
		}
	}
	l := &applink{id: newUUID(), name: body.Name, rpcURL: body.RPCURL, displayURL: body.DisplayURL, typeID: body.TypeID, order: len(s.applinks)}
	s.applinks[l.id] = l
	href := s.baseURL(r) + "/rest/applinks/3.0/applicationlink/" + l.id
	w.Header().Set("Location", href)
	out := s.applinkJSON(l)
	out["resources-created"] = map[string]string{"href": href}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) sortedApplinks() []*applink {
	var ls []*applink
	for _, l := range s.applinks {
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(a, b *applink) int { return a.order - b.order })
	return ls
}

func (s *Server) listApplinks(w http.ResponseWriter, _ *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, l := range s.sortedApplinks() {
		out = append(out, s.applinkJSON(l))
	}
	writeJSON(w, http.StatusOK, out)
}

// listApplinksLegacy is the older listing pycontribs' applicationlinks() reads.
func (s *Server) listApplinksLegacy(w http.ResponseWriter, _ *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, l := range s.sortedApplinks() {
		out = append(out, map[string]any{"application": s.applinkJSON(l)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"list": out})
}

func (s *Server) getApplink(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.applinks[r.PathValue("id")]
	if l == nil {
		s.writeErrors(w, http.StatusNotFound, []string{"No application link with id " + r.PathValue("id")}, nil)
		return
	}
	writeJSON(w, http.StatusOK, s.applinkJSON(l))
}

// dropConsumerLocked removes a consumer and every token it issued, which is
// what deleting a link or changing its OAuth config does in Jira.
func (s *Server) dropConsumerLocked(key string) {
	delete(s.consumers, key)
	for t, at := range s.accessTokens {
		if at.consumer == key {
			delete(s.accessTokens, t)
		}
	}
	for t, rt := range s.requestTokens {
		if rt.consumer == key {
			delete(s.requestTokens, t)
		}
	}
}

func (s *Server) deleteApplink(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.applinks[r.PathValue("id")]
	if l == nil {
		s.writeErrors(w, http.StatusNotFound, []string{"No application link with id " + r.PathValue("id")}, nil)
		return
	}
	if l.consumer != "" {
		s.dropConsumerLocked(l.consumer)
	}
	delete(s.applinks, l.id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putProvider(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.applinks[r.PathValue("id")] == nil {
		s.writeErrors(w, http.StatusNotFound, []string{"No application link with id " + r.PathValue("id")}, nil)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) putConsumer(w http.ResponseWriter, r *http.Request, _ *user) {
	var body struct {
		Key          string  `json:"key"`
		Name         string  `json:"name"`
		Description  *string `json:"description"`
		SharedSecret *string `json:"sharedSecret"`
		PublicKey    string  `json:"publicKey"`
		Outgoing     bool    `json:"outgoing"`
	}
	if err := decodeBody(r, &body); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	if body.Outgoing {
		// Outgoing consumers sign Jira's own calls; nothing to verify here.
		w.WriteHeader(http.StatusCreated)
		return
	}
	errs := map[string]string{}
	if body.Key == "" {
		errs["key"] = "Consumer key is required."
	}
	if body.Name == "" {
		errs["name"] = "Consumer name is required."
	}
	pub, err := parsePublicKey(body.PublicKey)
	if err != nil {
		errs["publicKey"] = "Invalid public key: " + err.Error()
	}
	if len(errs) > 0 {
		s.writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	desc := ""
	if body.Description != nil {
		desc = *body.Description
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.applinks[r.PathValue("id")]
	if l == nil {
		s.writeErrors(w, http.StatusNotFound, []string{"No application link with id " + r.PathValue("id")}, nil)
		return
	}
	if err := s.setConsumerLocked(l, body.Key, body.Name, desc, pub); err != nil {
		s.writeErrors(w, http.StatusBadRequest, nil, map[string]string{"key": err.Error()})
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) setConsumerLocked(l *applink, key, name, desc string, pub *rsa.PublicKey) error {
	if c := s.consumers[key]; c != nil && c.linkID != l.id {
		return fmt.Errorf("consumer key %q is already used by another application link", key)
	}
	if l.consumer != "" {
		s.dropConsumerLocked(l.consumer)
	}
	s.consumers[key] = &consumer{key: key, name: name, description: desc, publicKey: pub, publicPEM: publicKeyPEM(pub), linkID: l.id}
	l.consumer = key
	return nil
}

func (s *Server) getConsumer(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.applinks[r.PathValue("id")]
	if l == nil || l.consumer == "" {
		s.writeErrors(w, http.StatusNotFound, []string{"No consumer configured for application link " + r.PathValue("id")}, nil)
		return
	}
	c := s.consumers[l.consumer]
	writeJSON(w, http.StatusOK, map[string]any{
		"key": c.key, "name": c.name, "description": c.description, "publicKey": c.publicPEM,
		"sharedSecret": nil, "outgoing": false, "twoLOAllowed": false, "executingTwoLOUser": nil, "twoLOImpersonationAllowed": false,
	})
}

func (s *Server) deleteConsumer(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.applinks[r.PathValue("id")]
	if l == nil || l.consumer == "" {
		s.writeErrors(w, http.StatusNotFound, []string{"No consumer configured for application link " + r.PathValue("id")}, nil)
		return
	}
	s.dropConsumerLocked(l.consumer)
	l.consumer = ""
	w.WriteHeader(http.StatusNoContent)
}

// RegisterConsumer creates an application link named name with an incoming
// OAuth 1.0a consumer (key, public key), as an administrator would in the
// UI, and returns the link id.
func (s *Server) RegisterConsumer(key, name string, pub *rsa.PublicKey) (string, error) {
	if key == "" || pub == nil {
		return "", fmt.Errorf("jira emulator: register consumer: key and public key are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &applink{id: newUUID(), name: name, rpcURL: "http://consumer.invalid", displayURL: "http://consumer.invalid", typeID: "generic", order: len(s.applinks)}
	s.applinks[l.id] = l
	if err := s.setConsumerLocked(l, key, name, "", pub); err != nil {
		delete(s.applinks, l.id)
		return "", fmt.Errorf("jira emulator: register consumer: %w", err)
	}
	return l.id, nil
}

// ApplicationLink describes one application link, for tests.
type ApplicationLink struct {
	ID          string
	Name        string
	RPCURL      string
	ConsumerKey string // "" when no incoming OAuth consumer is configured
}

// ApplicationLinks lists the application links in creation order.
func (s *Server) ApplicationLinks() []ApplicationLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ApplicationLink
	for _, l := range s.sortedApplinks() {
		out = append(out, ApplicationLink{ID: l.id, Name: l.name, RPCURL: l.rpcURL, ConsumerKey: l.consumer})
	}
	return out
}
