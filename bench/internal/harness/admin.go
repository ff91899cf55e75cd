package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
)

// AdminClient signs in to the bridge's admin console as the emulator's
// admin, through Asana's OAuth sign-in as a browser would (the Asana
// emulator issues the code), and returns a client carrying the session
// cookie. It does not follow redirects.
func (w *World) AdminClient(ctx context.Context) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("harness: admin sign-in: %w", err)
	}
	c := Client(4)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// get answers the status and the Location header.
	get := func(u string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, "", err
		}
		resp, err := c.Do(req) //nolint:gosec // G704: the bridge on loopback, by design
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), nil
	}
	status, location, err := get(w.Demo.BridgeURL + "/admin/signin/start?next=/admin/links")
	if err != nil {
		return nil, fmt.Errorf("harness: admin sign-in: %w", err)
	}
	au, err := url.Parse(location)
	if err != nil || status != http.StatusSeeOther {
		return nil, fmt.Errorf("harness: admin sign-in: HTTP %d to %q", status, location)
	}
	q := au.Query()
	code, err := w.Demo.Asana.IssueOAuthCode("admin", q.Get("redirect_uri"), q.Get("code_challenge"))
	if err != nil {
		return nil, fmt.Errorf("harness: admin sign-in: %w", err)
	}
	status, _, err = get(q.Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode())
	if err != nil {
		return nil, fmt.Errorf("harness: admin sign-in: %w", err)
	}
	if status != http.StatusSeeOther {
		return nil, fmt.Errorf("harness: admin sign-in: the callback answered HTTP %d", status)
	}
	return c, nil
}

// AdminPage reads one console page with an AdminClient and checks it is
// served (200).
func (w *World) AdminPage(ctx context.Context, c *http.Client, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.Demo.BridgeURL+path, nil)
	if err != nil {
		return nil, err
	}
	status, body, err := send(c, req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, errors.Join(fmt.Errorf("admin %s: HTTP %d", path, status), errors.New(string(body[:min(len(body), 300)])))
	}
	return body, nil
}
