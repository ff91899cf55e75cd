package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAddImageKeepsOneImagePerArchitectureAndNoOrphanBlobs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opts := Options{Binary: write("bin", "binary v1"), Version: "1.2.3", CABundle: write("ca.pem", "certs"),
		License: write("LICENSE", "Apache-2.0"), Created: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	layout := filepath.Join(dir, "oci")
	for _, arch := range []string{"amd64", "arm64"} {
		opts.Arch = arch
		if err := AddImage(layout, opts); err != nil {
			t.Fatal(err)
		}
	}
	opts.Arch, opts.Binary = "amd64", write("bin2", "binary v2") // a rebuild replaces amd64
	if err := AddImage(layout, opts); err != nil {
		t.Fatal(err)
	}
	if err := AddImage(layout, Options{Arch: "riscv64"}); err == nil {
		t.Error("an unsupported architecture was accepted")
	}

	var top index
	readJSON(t, filepath.Join(layout, "index.json"), &top)
	if len(top.Manifests) != 1 || top.Manifests[0].Annotations[annotRefName] != "1.2.3" {
		t.Fatalf("index.json: %+v", top)
	}
	var multi index
	readJSON(t, blobPath(layout, top.Manifests[0].Digest), &multi)
	var archs []string
	for _, m := range multi.Manifests {
		archs = append(archs, m.Platform.Architecture)
	}
	if len(archs) != 2 || archs[0] != "amd64" || archs[1] != "arm64" {
		t.Errorf("architectures %v, want [amd64 arm64]", archs)
	}
	// 1 multi-arch index + 2 × (manifest, config, layer) blobs, each named
	// by its digest.
	blobs, err := os.ReadDir(filepath.Join(layout, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 7 {
		t.Errorf("%d blobs, want 7: replaced images must be collected", len(blobs))
	}
	for _, b := range blobs {
		body, err := os.ReadFile(filepath.Join(layout, "blobs", "sha256", b.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != b.Name() {
			t.Errorf("blob %s does not match its digest", b.Name())
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
