package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/connect"
	"github.com/asanajira/asanajira/internal/credentials"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
)

// storedClients are the users' clients as the server makes them: from the
// credentials stored by the connect pages (credentials.Provider), their
// errors told as the bridge's.
type storedClients struct {
	p  *credentials.Provider
	st store.Store
}

func (c storedClients) Jira(ctx context.Context, user, serverID string) (*jira.Client, store.JiraServer, error) {
	srv, err := c.st.GetJiraServer(ctx, serverID)
	if err != nil {
		return nil, srv, err
	}
	jc, err := c.p.Jira(ctx, user, serverID)
	return jc, srv, bridgeError(err)
}

func (c storedClients) Asana(ctx context.Context, user string) (*asana.Client, error) {
	ac, err := c.p.Asana(ctx, user)
	return ac, bridgeError(err)
}

func bridgeError(err error) error {
	switch {
	case errors.Is(err, credentials.ErrNotConnected):
		return fmt.Errorf("%w: %w", bridge.ErrNotConnected, err)
	case errors.Is(err, credentials.ErrReconnectNeeded):
		return fmt.Errorf("%w: %w", bridge.ErrReconnectNeeded, err)
	}
	return err
}

// connectPages are asanajira's connect pages on the bed's store, the
// Asana emulator and the bed's clock, and the bridge of the sweep on the
// credentials they store.
type connectPages struct {
	url      string
	finisher *bridge.Service
}

func (b *createBed) connectPages(t *testing.T) connectPages {
	t.Helper()
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	prov, err := credentials.New(credentials.Options{Store: b.Store, AsanaOAuthURL: b.AsanaURL, AsanaAPIURL: b.AsanaURL + "/api/1.0",
		AsanaClientID: "asanajira-demo", AsanaClientSecret: "demo-secret", AsanaRedirectURL: ts.URL + connect.AsanaCallbackPath,
		JiraOAuth2RedirectURL: ts.URL + connect.JiraOAuth2CallbackPath})
	must(t, err)
	log := slog.New(slog.NewTextHandler(b.logs, nil))
	h = connect.New(connect.Deps{Store: b.Store, Credentials: prov, Log: log, PublicURL: ts.URL, AsanaURL: b.AsanaURL,
		AsanaClientID: "asanajira-demo", AsanaClientSecret: "demo-secret", Now: b.clk.Now})
	// The bench's server offers personal access tokens, the quickest way
	// through the pages.
	srv := b.Server
	srv.AuthMethods = []store.AuthMethod{store.AuthPAT}
	must(t, b.Store.UpdateJiraServer(t.Context(), &srv))
	return connectPages{url: ts.URL, finisher: bridge.New(bridge.Config{Store: b.Store, Clients: storedClients{prov, b.Store}, Log: log})}
}

// connectJira connects login's Jira account through the pages as a
// browser does: Asana's consent, then a personal access token pasted.
func (c connectPages) connectJira(t *testing.T, b *createBed, login string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	must(t, err)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// send makes a request and follows asanajira's redirects; it returns
	// the last page and where it points, if elsewhere.
	send := func(method, u string, form url.Values) (body, location string) {
		t.Helper()
		for range 10 {
			req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(form.Encode()))
			must(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := hc.Do(req)
			must(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			loc, err := resp.Location()
			if err != nil {
				return string(b), ""
			}
			if !strings.HasPrefix(loc.String(), c.url) {
				return string(b), loc.String()
			}
			method, u, form = http.MethodGet, loc.String(), nil
		}
		t.Fatalf("%s redirects more than ten times", u)
		return "", ""
	}
	_, consent := send(http.MethodGet, c.url+connect.AuthenticationPath, nil)
	cu, err := url.Parse(consent)
	must(t, err)
	form := cu.Query()
	form.Set("username", login)
	form.Set("password", login)
	form.Set("decision", "allow")
	// Asana sends the browser back to the pages, which show the form for
	// a personal access token.
	pat, _ := send(http.MethodPost, b.AsanaURL+"/-/oauth_authorize", form)
	_, rest, ok := strings.Cut(pat, `name="csrf" value="`)
	if !ok {
		t.Fatalf("no personal access token page after Asana's consent: %s", pat)
	}
	csrf, _, _ := strings.Cut(rest, `"`)
	tok, err := b.Jira.CreatePAT(login, "asanajira")
	must(t, err)
	done, _ := send(http.MethodPost, c.url+"/connect/jira/"+b.Server.ID+"/pat", url.Values{"csrf": {csrf}, "token": {tok}})
	if !strings.Contains(done, "postMessage(\"success\"") {
		t.Fatalf("the connect pages did not end with success: %s", done)
	}
}

// A claim put off for alice's reconnect, days after her interrupted
// create (so six hours on), is finished at the first sweep once she
// connected Jira again through the connect pages: the pages bring it due
// (ConfigCacheTTL on), long before its time.
func TestReconnectBringsAPutOffClaimDue(t *testing.T) {
	t.Parallel()
	eachDB(t, false, func(t *testing.T, b *createBed) {
		pages := b.connectPages(t)
		b.interrupt(t, true)
		b.DisconnectJira(t, "alice")
		b.clk.Add(3 * 24 * time.Hour)
		sweep := func() { must(t, jobs.SweepCreateClaims(t.Context(), b.Queue, pages.finisher, b.clk.Now)) }
		sweep()
		result, next, _ := b.claim(t)
		if string(result) != string(store.CreationAwaitingReconnect) || next.Sub(b.clk.Now()) < 6*time.Hour-time.Minute {
			t.Fatalf("the claim after a sweep while alice is disconnected = %q until %v on; want put off for six hours",
				result, next.Sub(b.clk.Now()))
		}
		b.clk.Add(time.Minute)
		sweep()
		if b.linked(t) != nil {
			t.Fatal("a sweep before the reconnect linked the task")
		}

		pages.connectJira(t, b, "alice")
		b.clk.Add(store.ConfigCacheTTL)
		sweep()
		b.wantLinked(t)
		if until := next.Sub(b.clk.Now()); until < 5*time.Hour {
			t.Errorf("linked %v before the claim's time, want hours", until)
		}
	})
}
