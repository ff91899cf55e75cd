package credentials

import (
	"sync"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// clientCache keeps the Jira client built for each (user, server) with what
// it was built from. Building one per request (its authenticating transport,
// the base URL parsed, the http.Client) was a tenth of the widget's CPU.
//
// An entry is handed out only while the server's and the credential's
// stored values, which Jira reads on every call before asking here, are
// exactly those it was built from. So the cache is dropped by whatever
// changes them, as the store's config cache is: a credential written (a
// new connection, a refresh, a token rotated by another replica once the
// config cache rereads it), marked for reconnection after a 401 (Jira
// answers ErrReconnectNeeded before reaching the cache), removed, or the
// server edited. The key carries the user, so no user gets another's.
type clientCache struct {
	mu sync.RWMutex
	m  map[credKey]cachedClient
}

// maxCachedClients bounds the cache: a client is a few hundred bytes, and
// the clients of users who left are dropped with everyone's when it fills.
const maxCachedClients = 4096

type cachedClient struct {
	srv  serverBasis
	cred store.JiraCredential
	c    *jira.Client
}

// serverBasis is what of a server its users' clients are built from: the
// network settings, the application link's key and the OAuth 2.0 client a
// refresh uses; UpdatedAt covers any other edit.
type serverBasis struct {
	baseURL, connectAddress, caBundle, consumerKey, oauth2ClientID string
	privateKey, oauth2Secret                                       store.Secret
	updated                                                        int64
}

func basisOf(srv store.JiraServer) serverBasis {
	return serverBasis{baseURL: srv.BaseURL, connectAddress: srv.ConnectAddress, caBundle: srv.CABundlePEM,
		consumerKey: srv.ConsumerKey, oauth2ClientID: srv.OAuth2ClientID, privateKey: srv.PrivateKeyPEM,
		oauth2Secret: srv.OAuth2ClientSecret, updated: srv.UpdatedAt.UnixNano()}
}

// sameCredential reports whether two reads of a credential are the same
// version of it.
func sameCredential(a, b store.JiraCredential) bool {
	return a.AsanaUserGID == b.AsanaUserGID && a.JiraServerID == b.JiraServerID && a.Method == b.Method &&
		a.AccessToken == b.AccessToken && a.TokenSecret == b.TokenSecret && a.RefreshToken == b.RefreshToken &&
		a.Expiry.Equal(b.Expiry) && a.ReconnectNeeded == b.ReconnectNeeded && a.UpdatedAt.Equal(b.UpdatedAt)
}

// get returns the client built for k from exactly srv and cred, or nil.
func (cc *clientCache) get(k credKey, srv store.JiraServer, cred store.JiraCredential) *jira.Client {
	cc.mu.RLock()
	e, ok := cc.m[k]
	cc.mu.RUnlock()
	if !ok || e.srv != basisOf(srv) || !sameCredential(e.cred, cred) {
		return nil
	}
	return e.c
}

func (cc *clientCache) put(k credKey, srv store.JiraServer, cred store.JiraCredential, c *jira.Client) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) >= maxCachedClients {
		cc.m = make(map[credKey]cachedClient)
	}
	cc.m[k] = cachedClient{srv: basisOf(srv), cred: cred, c: c}
}
