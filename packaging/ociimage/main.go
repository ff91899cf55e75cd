// Command ociimage builds asanajira's container image as an OCI image layout,
// with the standard library only: no Docker daemon, no base image to pull.
// GoReleaser runs it after each Linux build (.goreleaser.yaml); every run adds
// its architecture to the shared layout under --dist and rewrites the archive
// asanajira_<version>_oci.tar, which `skopeo copy oci-archive:…` pushes to a
// registry or loads into Docker or Podman.
//
// The image holds the static binary, /etc/passwd and /etc/group naming the
// non-root user asanajira (65532), CA certificates, an empty /tmp and the
// data folder /var/lib/asanajira. It has no shell: `asanajira healthcheck`
// is the health check.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var (
		opts    Options
		dist    string
		created string
	)
	fs := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	fs.StringVar(&opts.Binary, "binary", "", "the linux asanajira binary to put in the image (required)")
	fs.StringVar(&opts.Arch, "arch", "", "its GOARCH: amd64 or arm64 (required)")
	fs.StringVar(&opts.Version, "version", "", "the version, used as the image's tag (required)")
	fs.StringVar(&opts.Revision, "revision", "", "the commit it was built from")
	fs.StringVar(&opts.Source, "source", "https://github.com/asanajira/asanajira", "the source repository URL")
	fs.StringVar(&opts.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA certificates to copy into the image")
	fs.StringVar(&opts.License, "license", "LICENSE", "licence file to copy into the image")
	fs.StringVar(&created, "created", "", "the image's creation time, RFC 3339 (default: now); the commit time makes builds reproducible")
	fs.StringVar(&dist, "dist", "dist", "folder for the layout (dist/oci) and the archive")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if opts.Binary == "" || opts.Arch == "" || opts.Version == "" {
		return errors.New("--binary, --arch and --version are required")
	}
	opts.Created = time.Now().UTC()
	if created != "" {
		t, err := time.Parse(time.RFC3339, created)
		if err != nil {
			return fmt.Errorf("--created: %w", err)
		}
		opts.Created = t.UTC()
	}
	unlock, err := lock(filepath.Join(dist, "oci.lock"), 2*time.Minute)
	if err != nil {
		return err
	}
	defer unlock()
	layout := filepath.Join(dist, "oci")
	if err := AddImage(layout, opts); err != nil {
		return err
	}
	archive := filepath.Join(dist, "asanajira_"+opts.Version+"_oci.tar")
	if err := WriteArchive(layout, archive); err != nil {
		return err
	}
	fmt.Printf("ociimage: linux/%s added to %s (tag %s)\n", opts.Arch, archive, opts.Version)
	return nil
}

// lock takes a lock shared by the runs GoReleaser starts in parallel: a
// folder, since creating one is atomic everywhere.
func lock(path string, wait time.Duration) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { //nolint:gosec // G301: dist/ holds public release artefacts
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := os.Mkdir(path, 0o750)
		if err == nil {
			return func() { _ = os.Remove(path) }, nil // a stale lock folder is removed with dist by --clean
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is still held after %s: another run crashed? remove it", path, wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
