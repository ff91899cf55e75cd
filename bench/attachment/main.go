// Command attachment measures copying one large Asana-hosted file to Jira.
// The bridge runs as its own `asanajira serve` process so its peak
// resident memory (VmHWM) is its own. The Asana emulator generates the
// file's bytes on the fly and the Jira emulator only counts and checksums
// what it receives, so neither holds the file. In the same run a plain
// streaming copy (download_url piped into Jira's multipart upload, no
// bridge) gives the reference throughput. It prints one line:
//
//	bench=attachment data=demo size_mib=1024 mib_s=… direct_mib_s=… ratio=… peak_rss_mib=… idle_rss_mib=… wall_s=… checksum_ok=true
//
// Throughput is measured where the bytes land: from the upload request's
// arrival at Jira to its last byte. ratio is mib_s / direct_mib_s; wall_s
// is from the form submit to the file recorded in Jira, queue pickup
// included.
//
// With -scale it copies again on a world the scale generator filled
// (-scale-sizes) and prints a second line, data=scale, with scale_ratio:
// its ratio over the first line's.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench attachment:", err)
		os.Exit(1)
	}
}

const mib = 1 << 20

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("attachment", flag.ContinueOnError)
	size := fs.Int64("size", 1<<30, "file size in bytes")
	bin := fs.String("bridge", "", "asanajira binary (default: build cmd/asanajira into a temporary folder)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	verbose := fs.Bool("v", false, "show the bridge's warnings and errors on stderr")
	var scale harness.ScaleFlags
	scale.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizes, err := scale.Sizes()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	dir, cleanup, err := harness.TempDir()
	if err != nil {
		return err
	}
	defer cleanup()
	if *bin == "" {
		if *bin, err = harness.BuildBridge(ctx, dir); err != nil {
			return err
		}
	}
	opts := harness.Options{Bridge: *bin}
	if *verbose {
		opts.BridgeLog = os.Stderr
	}
	return harness.MeasureBoth(ctx, out, sizes, func(ctx context.Context, sizes *harness.Sizes) (harness.Figures, error) {
		opts.Scale = sizes
		return measure(ctx, opts, *size)
	})
}

// measure copies one file through the bridge and directly on one world;
// its main figure is ratio.
func measure(ctx context.Context, opts harness.Options, size int64) (harness.Figures, error) {
	w, err := harness.Start(ctx, opts)
	if err != nil {
		return harness.Figures{}, err
	}
	defer w.Close()
	// Room for the file, and nothing kept in memory on the Jira side.
	w.Demo.Jira.SetAttachmentLimit(size + mib)
	w.Demo.Jira.SetDiscardAttachmentContent(true)
	client := harness.Client(2)

	const name, seed = "big.bin", 42
	var tasks [2]string
	for i := range tasks {
		if tasks[i], err = w.CreateTask(ctx, client, fmt.Sprintf("Large file %d", i)); err != nil {
			return harness.Figures{}, err
		}
		if _, err := w.Demo.Asana.AddGeneratedAttachment(fakeasana.GeneratedAttachment{Task: tasks[i], Name: name, Size: size, Seed: seed}); err != nil {
			return harness.Figures{}, err
		}
	}
	idle, err := w.Process.Memory()
	if err != nil {
		return harness.Figures{}, err
	}

	direct, err := directCopy(ctx, w, client, tasks[0], name)
	if err != nil {
		return harness.Figures{}, fmt.Errorf("direct copy: %w", err)
	}

	start := time.Now()
	r, err := w.Demo.Asana.CallApp(ctx, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: w.Demo.BridgeURL + "/asana/form/submit",
		User: w.Alice, Task: tasks[1], Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Large file"}})
	if err != nil {
		return harness.Figures{}, fmt.Errorf("form submit: %w", err)
	}
	var got struct {
		ResourceURL string `json:"resource_url"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil {
		return harness.Figures{}, fmt.Errorf("form submit: HTTP %d: %.300s", r.Status, r.Body)
	}
	key := got.ResourceURL[strings.LastIndex(got.ResourceURL, "/")+1:]
	bridged, err := waitForFile(ctx, w.Demo.Jira, key, name)
	if err != nil {
		return harness.Figures{}, err
	}
	wall := time.Since(start)
	mem, err := w.Process.Memory()
	if err != nil {
		return harness.Figures{}, err
	}
	if bridged.Size != size || direct.Size != size {
		return harness.Figures{}, fmt.Errorf("jira received %d bytes through the bridge and %d directly, want %d", bridged.Size, direct.Size, size)
	}
	rate := func(a fakejira.Attachment) float64 { return float64(a.Size) / mib / a.Received.Seconds() }
	ratio := rate(bridged) / rate(direct)
	return harness.Figures{Filled: w.Filled, Figure: ratio, Head: []any{"bench", "attachment"},
		Rest: []any{"size_mib", float64(size) / mib,
			"mib_s", rate(bridged), "direct_mib_s", rate(direct), "ratio", ratio,
			"peak_rss_mib", float64(mem.Peak) / mib, "idle_rss_mib", float64(idle.RSS) / mib,
			"wall_s", wall.Seconds(), "checksum_ok", bridged.CRC32C == direct.CRC32C}}, nil
}

// directCopy streams the task's file from its download_url into a new
// Jira issue's multipart upload, with no bridge in between, and returns
// what Jira recorded.
func directCopy(ctx context.Context, w *harness.World, client *http.Client, task, name string) (fakejira.Attachment, error) {
	req, err := w.JiraRequest(ctx, http.MethodPost, "/rest/api/2/issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"id": "10002"}, "summary": "Direct copy"}})
	if err != nil {
		return fakejira.Attachment{}, err
	}
	var is struct {
		Key string `json:"key"`
	}
	if err := harness.DoJSON(client, req, http.StatusCreated, &is); err != nil {
		return fakejira.Attachment{}, err
	}
	var src string
	for _, a := range w.Demo.Asana.Attachments(task) {
		if a.Name == name {
			src = a.GID
		}
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, w.Demo.AsanaURL+"/api/1.0/attachments/"+src+"?opt_fields=download_url", nil)
	if err != nil {
		return fakejira.Attachment{}, err
	}
	req.Header.Set("Authorization", "Bearer "+w.Seed.Tokens["alice"])
	var att struct {
		Data struct {
			DownloadURL string `json:"download_url"`
		} `json:"data"`
	}
	if err := harness.DoJSON(client, req, http.StatusOK, &att); err != nil {
		return fakejira.Attachment{}, err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, att.Data.DownloadURL, nil)
	if err != nil {
		return fakejira.Attachment{}, err
	}
	resp, err := client.Do(req) //nolint:bodyclose // closed by the defer below; the upload goroutine only reads it
	if err != nil {
		return fakejira.Attachment{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fakejira.Attachment{}, fmt.Errorf("download: HTTP %d", resp.StatusCode)
	}

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
		hdr.Set("Content-Type", "application/octet-stream")
		part, err := mw.CreatePart(hdr)
		if err == nil {
			_, err = io.Copy(part, resp.Body)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err = w.JiraRequest(ctx, http.MethodPost, "/rest/api/2/issue/"+is.Key+"/attachments", nil)
	if err != nil {
		return fakejira.Attachment{}, err
	}
	req.Body = pr
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Atlassian-Token", "no-check")
	if err := harness.DoJSON(client, req, http.StatusOK, nil); err != nil {
		_ = pr.CloseWithError(err)
		return fakejira.Attachment{}, err
	}
	return waitForFile(ctx, w.Demo.Jira, is.Key, name)
}

// waitForFile polls Jira until the issue has the file.
func waitForFile(ctx context.Context, j *fakejira.Server, key, name string) (fakejira.Attachment, error) {
	for {
		if is, ok := j.Issue(key); ok {
			for _, a := range is.Attachments {
				if a.Filename == name {
					return a, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fakejira.Attachment{}, fmt.Errorf("waiting for %s on %s: %w", name, key, errors.Join(ctx.Err(), context.Cause(ctx)))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
