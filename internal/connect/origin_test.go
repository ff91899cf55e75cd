package connect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/asanajira/asanajira/internal/browsertest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

// TestPopupMessageReachesTheOpenerOfAnyAllowedOrigin: with several Asana
// origins allowed (--app-origin a,b), the popup's last page still reaches
// the window that opened it, in a real browser, whichever of them it is.
func TestPopupMessageReachesTheOpenerOfAnyAllowedOrigin(t *testing.T) {
	t.Parallel()
	exe := browsertest.Path(t)
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"), storetest.NewSealer(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	// The opener: a page that opens the popup and records what it hears.
	opener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>Asana</title><script>
window.heard = [];
window.addEventListener("message", (e) => window.heard.push(e.origin + " " + e.data));
function start(url) { window.open(url, "asana_app_auth", "width=640,height=720"); }
</script>`))
	}))
	t.Cleanup(opener.Close)
	var h http.Handler
	bridge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(bridge.Close)
	h = New(Deps{Store: st, PublicURL: bridge.URL, AsanaClientID: "x", AsanaClientSecret: "y",
		AppOrigin: "https://app.asana.com, " + opener.URL + "/"})

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), browsertest.Options(exe, t.TempDir())...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx, chromedp.Navigate(opener.URL)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(start(`+jsQuote(bridge.URL+"/connect/done")+`), true)`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		heard, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.heard.join(",")`))
		if err != nil {
			t.Fatal(err)
		}
		if heard != "" {
			if heard != bridge.URL+" success" {
				t.Fatalf("the opener heard %q, want one success from %s", heard, bridge.URL)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the opener heard nothing from the popup")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
