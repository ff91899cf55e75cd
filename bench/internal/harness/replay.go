package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Replay makes recorded calls again, directly and one after the other, as
// alice with the credentials the bridge holds for her (client must come
// from DirectClient), and checks that each is answered with the status it
// got then. subs replaces identifiers (a task gid, an issue key) wherever
// they stand alone in a path, query or body. When a recorded answer named
// an issue ("key" in a JSON object), the key the new answer names replaces
// it in the calls after it, so a recorded create followed by a remote link
// on the new issue replays as just that.
func (w *World) Replay(ctx context.Context, client *http.Client, calls []Call, subs map[string]string) error {
	subs = maps(subs)
	for _, c := range calls {
		base := w.Demo.AsanaURL
		if c.Emulator == "jira" {
			// Recorded paths carry Jira's context path already.
			base = strings.TrimSuffix(w.Demo.JiraURL, w.Demo.Jira.ContextPath())
		}
		u := base + replaceAll(c.Path, subs)
		if c.RawQuery != "" {
			u += "?" + replaceAll(c.RawQuery, subs)
		}
		var body io.Reader
		if c.Body != nil {
			body = bytes.NewReader([]byte(replaceAll(string(c.Body), subs)))
		}
		req, err := http.NewRequestWithContext(ctx, c.Method, u, body)
		if err != nil {
			return fmt.Errorf("replay %s: %w", c, err)
		}
		if c.ContentType != "" {
			req.Header.Set("Content-Type", c.ContentType)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Atlassian-Token", "no-check")
		resp, err := client.Do(req) //nolint:gosec // G704: the emulators on loopback, by design
		if err != nil {
			return fmt.Errorf("replay %s: %w", c, err)
		}
		got, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("replay %s: %w", c, err)
		}
		if resp.StatusCode != c.Status {
			return fmt.Errorf("replay %s: HTTP %d, the bridge's call got %d: %.300s", c, resp.StatusCode, c.Status, got)
		}
		if was, now := issueKey(c.Response), issueKey(got); was != "" && now != "" && was != now {
			subs[was] = now
		}
	}
	return nil
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// issueKey is the "key" of a JSON object answer, if any.
func issueKey(body []byte) string {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return ""
	}
	var v struct {
		Key string `json:"key"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.Key
}

// replaceAll replaces each key of subs by its value where it is not part
// of a longer word ("DEMO-5" is left alone in "DEMO-50").
func replaceAll(s string, subs map[string]string) string {
	for old, repl := range subs {
		if old == "" || !strings.Contains(s, old) {
			continue
		}
		var b strings.Builder
		for {
			i := strings.Index(s, old)
			if i < 0 {
				b.WriteString(s)
				break
			}
			end := i + len(old)
			if (i > 0 && wordByte(s[i-1]) && !escaped(s, i)) || (end < len(s) && wordByte(s[end])) {
				b.WriteString(s[:end])
			} else {
				b.WriteString(s[:i])
				b.WriteString(repl)
			}
			s = s[end:]
		}
		s = b.String()
	}
	return s
}

// escaped reports whether a percent-escape ends at i ("%3A" before a gid
// in a query string), which separates words as the character it stands
// for does.
func escaped(s string, i int) bool {
	return i >= 3 && s[i-3] == '%' && isHex(s[i-2]) && isHex(s[i-1])
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func wordByte(c byte) bool {
	return c == '-' || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
