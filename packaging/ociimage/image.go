package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// OCI media types and annotation keys (image-spec v1.1).
const (
	mediaIndex     = "application/vnd.oci.image.index.v1+json"
	mediaManifest  = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig    = "application/vnd.oci.image.config.v1+json"
	mediaLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	annotRefName   = "org.opencontainers.image.ref.name"
)

// The image's user: a fixed uid/gid outside the host's usual ranges, the
// convention of distroless images.
const (
	uid     = 65532
	dataDir = "var/lib/asanajira"
)

// Options describe one architecture's image.
type Options struct {
	Binary   string
	Arch     string
	Version  string
	Revision string
	Source   string
	CABundle string
	License  string
	Created  time.Time
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

type index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Manifests     []descriptor      `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type imageConfig struct {
	Created      string        `json:"created"`
	Architecture string        `json:"architecture"`
	Variant      string        `json:"variant,omitempty"`
	OS           string        `json:"os"`
	Config       runConfig     `json:"config"`
	RootFS       rootFS        `json:"rootfs"`
	History      []historyItem `json:"history"`
}

type runConfig struct {
	User         string              `json:"User"`
	Entrypoint   []string            `json:"Entrypoint"`
	Cmd          []string            `json:"Cmd"`
	Env          []string            `json:"Env"`
	WorkingDir   string              `json:"WorkingDir"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	Volumes      map[string]struct{} `json:"Volumes"`
	Labels       map[string]string   `json:"Labels"`
	StopSignal   string              `json:"StopSignal"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type historyItem struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
}

// AddImage writes opts' image into the OCI layout at dir and lists it in the
// multi-architecture index tagged opts.Version, replacing an image of the
// same architecture.
func AddImage(dir string, opts Options) error {
	variant := ""
	switch opts.Arch {
	case "amd64":
	case "arm64":
		variant = "v8"
	default:
		return fmt.Errorf("unsupported architecture %q (amd64 or arm64)", opts.Arch)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil { //nolint:gosec // G301: a public release artefact
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"), 0o644); err != nil { //nolint:gosec // G306: a public release artefact
		return err
	}

	layerTar, err := rootLayer(opts)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz) // no name, no time in the header: reproducible
	if _, err := zw.Write(layerTar); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	layer, err := writeBlob(dir, mediaLayerGzip, gz.Bytes())
	if err != nil {
		return err
	}

	created := opts.Created.Format(time.RFC3339)
	labels := map[string]string{
		"org.opencontainers.image.title":       "asanajira",
		"org.opencontainers.image.description": "Bridge between Asana and Jira Server / Data Center",
		"org.opencontainers.image.version":     opts.Version,
		"org.opencontainers.image.revision":    opts.Revision,
		"org.opencontainers.image.source":      opts.Source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     created,
	}
	cfg := imageConfig{
		Created: created, Architecture: opts.Arch, Variant: variant, OS: "linux",
		Config: runConfig{
			User:       fmt.Sprintf("%d:%d", uid, uid),
			Entrypoint: []string{"/usr/bin/asanajira"},
			Cmd:        []string{"serve"},
			Env: []string{
				"PATH=/usr/bin",
				"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
				"ASANAJIRA_LISTEN=:8080",
				"ASANAJIRA_DATABASE_URL=/" + dataDir + "/asanajira.db",
			},
			WorkingDir:   "/" + dataDir,
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Volumes:      map[string]struct{}{"/" + dataDir: {}},
			Labels:       labels,
			StopSignal:   "SIGTERM",
		},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{digestOf(layerTar)}},
		History: []historyItem{{Created: created, CreatedBy: "asanajira packaging/ociimage"}},
	}
	cfgDesc, err := writeJSONBlob(dir, mediaConfig, cfg)
	if err != nil {
		return err
	}
	manDesc, err := writeJSONBlob(dir, mediaManifest, manifest{
		SchemaVersion: 2, MediaType: mediaManifest, Config: cfgDesc, Layers: []descriptor{layer},
		Annotations: map[string]string{"org.opencontainers.image.version": opts.Version, "org.opencontainers.image.created": created},
	})
	if err != nil {
		return err
	}
	manDesc.Platform = &platform{Architecture: opts.Arch, OS: "linux", Variant: variant}

	// The top index.json names one multi-architecture index per tag.
	top := index{SchemaVersion: 2, MediaType: mediaIndex}
	if b, err := os.ReadFile(filepath.Join(dir, "index.json")); err == nil {
		if err := json.Unmarshal(b, &top); err != nil {
			return fmt.Errorf("index.json: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	multi := index{SchemaVersion: 2, MediaType: mediaIndex}
	at := slices.IndexFunc(top.Manifests, func(d descriptor) bool { return d.Annotations[annotRefName] == opts.Version })
	if at >= 0 {
		b, err := os.ReadFile(blobPath(dir, top.Manifests[at].Digest))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &multi); err != nil {
			return fmt.Errorf("index of %s: %w", opts.Version, err)
		}
	}
	multi.Manifests = slices.DeleteFunc(multi.Manifests, func(d descriptor) bool {
		return d.Platform != nil && d.Platform.Architecture == opts.Arch
	})
	multi.Manifests = append(multi.Manifests, manDesc)
	slices.SortFunc(multi.Manifests, func(a, b descriptor) int { return strings.Compare(a.Platform.Architecture, b.Platform.Architecture) })
	multiDesc, err := writeJSONBlob(dir, mediaIndex, multi)
	if err != nil {
		return err
	}
	multiDesc.Annotations = map[string]string{annotRefName: opts.Version}
	if at >= 0 {
		top.Manifests[at] = multiDesc
	} else {
		top.Manifests = append(top.Manifests, multiDesc)
	}
	b, err := json.Marshal(top)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644); err != nil { //nolint:gosec // G306: a public release artefact
		return err
	}
	return collectGarbage(dir, top)
}

// rootLayer is the image's only layer, as an uncompressed tar.
func rootLayer(opts Options) ([]byte, error) {
	bin, err := os.ReadFile(opts.Binary)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(opts.CABundle)
	if err != nil {
		return nil, fmt.Errorf("CA certificates (install Debian's ca-certificates or pass --ca-bundle): %w", err)
	}
	license, err := os.ReadFile(opts.License)
	if err != nil {
		return nil, err
	}
	type entry struct {
		name     string
		mode     int64
		owner    int
		body     []byte
		isFolder bool
	}
	entries := []entry{
		{name: "etc/", mode: 0o755, isFolder: true},
		{name: "etc/group", mode: 0o644, body: fmt.Appendf(nil, "root:x:0:\nasanajira:x:%d:\n", uid)},
		{name: "etc/passwd", mode: 0o644, body: fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nasanajira:x:%d:%d:asanajira:/%s:/sbin/nologin\n", uid, uid, dataDir)},
		{name: "etc/ssl/", mode: 0o755, isFolder: true},
		{name: "etc/ssl/certs/", mode: 0o755, isFolder: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, body: ca},
		{name: "tmp/", mode: 0o1777, isFolder: true},
		{name: "usr/", mode: 0o755, isFolder: true},
		{name: "usr/bin/", mode: 0o755, isFolder: true},
		{name: "usr/bin/asanajira", mode: 0o755, body: bin},
		{name: "usr/share/", mode: 0o755, isFolder: true},
		{name: "usr/share/doc/", mode: 0o755, isFolder: true},
		{name: "usr/share/doc/asanajira/", mode: 0o755, isFolder: true},
		{name: "usr/share/doc/asanajira/LICENSE", mode: 0o644, body: license},
		{name: "var/", mode: 0o755, isFolder: true},
		{name: "var/lib/", mode: 0o755, isFolder: true},
		{name: dataDir + "/", mode: 0o750, owner: uid, isFolder: true},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.owner, Gid: e.owner, ModTime: opts.Created, Format: tar.FormatPAX}
		if e.isFolder {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func writeBlob(dir, mediaType string, b []byte) (descriptor, error) {
	d := descriptor{MediaType: mediaType, Digest: digestOf(b), Size: int64(len(b))}
	return d, os.WriteFile(blobPath(dir, d.Digest), b, 0o644) //nolint:gosec // G306: a public release artefact
}

func writeJSONBlob(dir, mediaType string, v any) (descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return descriptor{}, err
	}
	return writeBlob(dir, mediaType, b)
}

// collectGarbage removes blobs no longer reachable from the top index (an
// architecture's previous image, a previous multi-architecture index).
func collectGarbage(dir string, top index) error {
	keep := map[string]bool{}
	var walk func(d descriptor) error
	walk = func(d descriptor) error {
		keep[strings.TrimPrefix(d.Digest, "sha256:")] = true
		if d.MediaType != mediaIndex && d.MediaType != mediaManifest {
			return nil
		}
		b, err := os.ReadFile(blobPath(dir, d.Digest))
		if err != nil {
			return err
		}
		var node struct {
			Manifests []descriptor `json:"manifests"`
			Config    *descriptor  `json:"config"`
			Layers    []descriptor `json:"layers"`
		}
		if err := json.Unmarshal(b, &node); err != nil {
			return err
		}
		children := slices.Concat(node.Manifests, node.Layers)
		if node.Config != nil {
			children = append(children, *node.Config)
		}
		for _, c := range children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range top.Manifests {
		if err := walk(d); err != nil {
			return err
		}
	}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if !keep[b.Name()] {
			if err := os.Remove(filepath.Join(dir, "blobs", "sha256", b.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteArchive packs the layout at dir into one tar file, the
// "oci-archive" form skopeo and podman read, replacing archive atomically.
func WriteArchive(dir, archive string) error {
	tmp, err := os.CreateTemp(filepath.Dir(archive), ".oci-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up after a failure
	tw := tar.NewWriter(tmp)
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(files)
	for _, p := range files {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if err := addFile(tw, p, filepath.ToSlash(rel)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { //nolint:gosec // G302: a public release artefact
		return err
	}
	return os.Rename(tmp.Name(), archive)
}

func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fi.Size(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
