package credentials

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
)

// asanaEnv is the Asana emulator behind a proxy that counts refreshes.
type asanaEnv struct {
	fa        *fakeasana.Server
	url       string
	refreshes atomic.Int32
}

func newAsanaEnv(t *testing.T) *asanaEnv {
	t.Helper()
	fa, err := fakeasana.New(fakeasana.Options{OnUnknownRoute: func(method, path string) {
		t.Errorf("Asana emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := &asanaEnv{fa: fa}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/-/oauth_token" {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			if v, _ := url.ParseQuery(string(b)); v.Get("grant_type") == "refresh_token" {
				e.refreshes.Add(1)
				time.Sleep(refreshLatent)
			}
		}
		fa.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); fa.Close() })
	if err := fa.SetPublicBaseURL(ts.URL); err != nil {
		t.Fatal(err)
	}
	e.url = ts.URL
	return e
}

func (e *asanaEnv) provider(t *testing.T, st store.Store) *Provider {
	return newProvider(t, st, func(o *Options) {
		o.AsanaOAuthURL, o.AsanaAPIURL = e.url, e.url+"/api/1.0"
	})
}

// storeUser authorizes alice on the emulator and stores her tokens with the
// given expiry.
func (e *asanaEnv) storeUser(t *testing.T, st store.Store, expiry time.Time) store.AsanaUser {
	t.Helper()
	access, refresh, err := e.fa.IssueAccessToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	u := store.AsanaUser{GID: testUser, Name: "Alice Anders", AccessToken: store.Secret(access), RefreshToken: store.Secret(refresh), Expiry: expiry}
	if err := st.PutAsanaUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAsanaRefreshOncePersisted(t *testing.T) {
	t.Parallel()
	e := newAsanaEnv(t)
	st := newSQLite(t)
	old := e.storeUser(t, st, time.Now().Add(-time.Minute))
	p := e.provider(t, st)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			c, err := p.Asana(t.Context(), testUser)
			if err == nil {
				var me *asana.User
				if me, err = c.Me(t.Context()); err == nil && me.GID != testUser {
					err = errors.New("me is " + me.GID)
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := e.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	got, err := st.GetAsanaUser(t.Context(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken == old.AccessToken || got.RefreshToken != old.RefreshToken || !got.Expiry.After(time.Now().Add(30*time.Minute)) {
		t.Errorf("refresh not persisted: new access %v, kept refresh %v, expiry %v",
			got.AccessToken != old.AccessToken, got.RefreshToken == old.RefreshToken, got.Expiry)
	}
}

// TestAsanaRevoked: the user removed the app in Asana (the refresh token is
// revoked and its access tokens with it). The next call refreshes, Asana
// answers invalid_grant, the user is marked and later calls get
// ErrReconnectNeeded: also over the ConfigCache, as the app builds it,
// where the rejected token was served from memory.
func TestAsanaRevoked(t *testing.T) {
	t.Parallel()
	for name, cached := range map[string]bool{"store": false, "ConfigCache": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := newSQLite(t)
			if cached {
				st = store.NewConfigCache(st, time.Hour, nil)
			}
			testAsanaRevoked(t, st)
		})
	}
}

func testAsanaRevoked(t *testing.T, st store.Store) {
	e := newAsanaEnv(t)
	u := e.storeUser(t, st, time.Now().Add(time.Hour))
	p := e.provider(t, st)
	me(t, p) // the user is read (and cached) before the revocation
	c, err := p.Asana(t.Context(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	if err := asana.RevokeToken(t.Context(), nil, p.AsanaOAuth2Config(), u.RefreshToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(t.Context()); !errors.Is(err, asana.ErrUnauthorized) {
		t.Fatalf("Me after revoke: %v, want asana.ErrUnauthorized", err)
	}
	got, err := st.GetAsanaUser(t.Context(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ReconnectNeeded {
		t.Error("user not marked for reconnection")
	}
	if n := e.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want 1 (the 401's)", n)
	}
	_, err = p.Asana(t.Context(), testUser)
	var re *ReconnectError
	if !errors.Is(err, ErrReconnectNeeded) || !errors.As(err, &re) || re.Service != "asana" {
		t.Errorf("Asana after revoke: %v", err)
	}
}

// TestAsanaCallBoundWithoutGoroutines: a user's Asana client bounds each
// call by the provider's timeout through its context, so a call in flight
// runs no goroutine of net/http's Client.Timeout (a timer goroutine, and
// one more that turns its cancel channel into the context's), and a call
// that outlives the bound still ends with it.
//
// Not parallel: the stacks read are the whole process's, and only while
// this test runs is no other test's call in flight.
func TestAsanaCallBoundWithoutGoroutines(t *testing.T) {
	e := newAsanaEnv(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/1.0/users/me" {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		e.fa.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	st := newSQLite(t)
	e.storeUser(t, st, time.Now().Add(time.Hour))
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{{"in flight", time.Minute}, {"past its bound", 100 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, st, func(o *Options) {
				o.AsanaOAuthURL, o.AsanaAPIURL = e.url, ts.URL+"/api/1.0"
				o.HTTPClient = &http.Client{Timeout: tc.timeout}
			})
			c, err := p.Asana(t.Context(), testUser, asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1}))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := c.Me(t.Context())
				done <- err
			}()
			<-entered
			if tc.timeout > time.Second {
				buf := make([]byte, 1<<20)
				stacks := string(buf[:runtime.Stack(buf, true)])
				for _, f := range []string{"net/http.setRequestCancel", "net/http.awaitLegacyCancel"} {
					if strings.Contains(stacks, f) {
						t.Errorf("a goroutine runs %s during the call:\n%s", f, stacks)
					}
				}
				release <- struct{}{}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				return
			}
			if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a call past the bound: %v, want the deadline exceeded", err)
			}
		})
	}
}
