// Package packaging holds asanajira's release packaging: the GoReleaser
// configuration's companions (systemd unit, environment file, package
// scripts, the OCI image writer in ociimage) and the tests that build a
// snapshot release and inspect what it produced with the tools an admin
// would use (dpkg, systemd-analyze, skopeo, umoci).
package packaging

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/servetest"
)

// tool finds a command a test needs, on PATH or in Go's bin folder (where
// .ci/run installs goreleaser and cyclonedx-gomod). Without it the test is
// skipped on a developer's machine and fails under CI.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing under CI (%s; .ci/run installs it)", name, install)
	}
	t.Skipf("%s is missing (%s)", name, install)
	return ""
}

// run runs a command in dir and returns its standard output; it fails the
// test with the command's output on a non-zero exit.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// repoRoot is the module's root, the parent of this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// checkout copies the repository's tracked files as they are in the work
// tree into a fresh git repository with one commit, so a release build
// never writes into the source tree and sees uncommitted changes too.
func checkout(t *testing.T) string {
	t.Helper()
	git := tool(t, "git", "Debian package git")
	src := repoRoot(t)
	dst := t.TempDir()
	files := run(t, src, nil, git, "ls-files", "-z", "--cached")
	for _, f := range strings.Split(strings.TrimRight(files, "\x00"), "\x00") {
		fi, err := os.Lstat(filepath.Join(src, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not committed yet
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"GIT_AUTHOR_NAME=asanajira", "GIT_AUTHOR_EMAIL=release@asanajira.invalid",
		"GIT_COMMITTER_NAME=asanajira", "GIT_COMMITTER_EMAIL=release@asanajira.invalid",
		"GIT_AUTHOR_DATE=2026-11-26T21:30:42Z", "GIT_COMMITTER_DATE=2026-11-26T21:30:42Z"}
	run(t, dst, env, git, "init", "-q", "-b", "main")
	run(t, dst, env, git, "add", "-A")
	run(t, dst, env, git, "commit", "-q", "--no-gpg-sign", "-m", "snapshot")
	// GoReleaser reads the commit only when a remote is configured; the URL
	// is never contacted in a snapshot.
	run(t, dst, env, git, "remote", "add", "origin", "https://github.com/asanajira/asanajira.git")
	return dst
}

// TestReleaseSnapshot builds a linux/amd64 snapshot release with the
// checked-in GoReleaser configuration and inspects every artefact.
func TestReleaseSnapshot(t *testing.T) {
	t.Parallel()
	goreleaser := tool(t, "goreleaser", "go install github.com/goreleaser/goreleaser/v2@v2.15.1")
	tool(t, "cyclonedx-gomod", "go install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0")
	dpkgDeb := tool(t, "dpkg-deb", "Debian package dpkg")
	skopeo := tool(t, "skopeo", "Debian package skopeo")
	umoci := tool(t, "umoci", "Debian package umoci")
	systemdAnalyze := tool(t, "systemd-analyze", "Debian package systemd")

	work := checkout(t)
	version := strings.TrimSpace(run(t, work, nil, "sh", "packaging/version.sh"))
	commit := strings.TrimSpace(run(t, work, nil, "git", "rev-parse", "HEAD"))
	if !regexp.MustCompile(`^\d+\.\d+\.\d+\+[0-9a-f]{7}$`).MatchString(version) {
		t.Fatalf("packaging/version.sh in a clean untagged checkout = %q, want X.Y.Z+commit", version)
	}
	run(t, work, nil, goreleaser, "check")
	run(t, work, []string{"ASANAJIRA_VERSION=" + version, "ASANAJIRA_ONLY_LINUX_AMD64=1"},
		goreleaser, "release", "--snapshot", "--clean", "--parallelism=2")
	dist := filepath.Join(work, "dist")
	wantVersionLine := "asanajira " + version + " (commit " + commit + ", built 2026-11-26T21:30:42Z, go"

	sums := checkSums(t, dist)
	for _, want := range []string{
		"asanajira_" + version + "_linux_amd64.tar.gz",
		"asanajira_" + version + "_amd64.deb",
		"asanajira-" + version + "-1.x86_64.rpm",
		"asanajira_" + version + "_sbom.cdx.json",
		"asanajira_" + version + "_oci.tar",
	} {
		if !sums[want] {
			t.Errorf("SHA256SUMS lacks %s; it lists %v", want, sums)
		}
	}

	t.Run("archive", func(t *testing.T) {
		files := tarGzFiles(t, filepath.Join(dist, "asanajira_"+version+"_linux_amd64.tar.gz"))
		for _, want := range []string{"asanajira", "LICENSE", "README.md", "CHANGELOG.md", "docs/operations.md",
			"packaging/systemd/asanajira.service", "packaging/asanajira.env"} {
			if _, ok := files[want]; !ok {
				t.Errorf("archive lacks %s", want)
			}
		}
	})

	t.Run("sbom", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dist, "asanajira_"+version+"_sbom.cdx.json"))
		if err != nil {
			t.Fatal(err)
		}
		var bom struct {
			BOMFormat string `json:"bomFormat"`
			Metadata  struct {
				Component struct{ Name string } `json:"component"`
			} `json:"metadata"`
			Components []struct {
				Name     string `json:"name"`
				Version  string `json:"version"`
				Licenses []any  `json:"licenses"`
			} `json:"components"`
		}
		if err := json.Unmarshal(b, &bom); err != nil {
			t.Fatal(err)
		}
		if bom.BOMFormat != "CycloneDX" || !strings.Contains(bom.Metadata.Component.Name, "asanajira") {
			t.Errorf("SBOM format %q, component %q", bom.BOMFormat, bom.Metadata.Component.Name)
		}
		found := map[string]bool{}
		for _, c := range bom.Components {
			found[c.Name] = true
		}
		for _, want := range []string{"github.com/riverqueue/river", "modernc.org/sqlite", "github.com/jackc/pgx/v5"} {
			if !found[want] {
				t.Errorf("SBOM lacks component %s", want)
			}
		}
	})

	t.Run("deb", func(t *testing.T) {
		deb := filepath.Join(dist, "asanajira_"+version+"_amd64.deb")
		root := t.TempDir()
		run(t, "", nil, dpkgDeb, "-x", deb, root)
		control := t.TempDir()
		run(t, "", nil, dpkgDeb, "-e", deb, control)

		got := run(t, "", nil, filepath.Join(root, "usr/bin/asanajira"), "version")
		if !strings.HasPrefix(got, wantVersionLine) {
			t.Errorf("installed binary says %q, want %q…", got, wantVersionLine)
		}
		// The packaged binary serves, and its health check sees it.
		bin := filepath.Join(root, "usr/bin/asanajira")
		srv := servetest.Start(t, bin, "packaged serve", []string{"ASANAJIRA_DATABASE_URL=" + filepath.Join(t.TempDir(), "asanajira.db"),
			"ASANAJIRA_LISTEN=127.0.0.1:0", "ASANAJIRA_LOG_FORMAT=json"})
		base := srv.WaitReady()
		if out := run(t, "", nil, bin, "healthcheck", "--url", base+"/healthz"); !strings.Contains(out, "200 OK") {
			t.Errorf("healthcheck: %s", out)
		}
		srv.Stop()

		unit := filepath.Join(root, "usr/lib/systemd/system/asanajira.service")
		checkUnit(t, unit)
		verifyUnit(t, systemdAnalyze, unit, filepath.Join(root, "usr/bin/asanajira"))
		sec := run(t, "", nil, systemdAnalyze, "security", "--offline=yes", "--no-pager", unit)
		m := regexp.MustCompile(`Overall exposure level for asanajira.service: ([0-9.]+)`).FindStringSubmatch(sec)
		if m == nil {
			t.Fatalf("no exposure level in:\n%s", sec)
		}
		if level, _ := strconv.ParseFloat(m[1], 64); level > 2.0 {
			t.Errorf("systemd-analyze security rates the unit %.1f, want at most 2.0:\n%s", level, sec)
		}

		env := filepath.Join(root, "etc/asanajira/asanajira.env")
		if fi, err := os.Stat(env); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("env file: %v %v, want mode 0640", fi, err)
		}
		if fi, err := os.Stat(filepath.Join(root, "var/lib/asanajira")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
			t.Errorf("data folder: %v %v, want a 0750 folder", fi, err)
		}
		conffiles, err := os.ReadFile(filepath.Join(control, "conffiles"))
		if err != nil || !strings.Contains(string(conffiles), "/etc/asanajira/asanajira.env") {
			t.Errorf("conffiles %q (%v): the env file must be a conffile, kept on upgrade", conffiles, err)
		}
		for _, script := range []string{"preinst", "postinst", "prerm", "postrm"} {
			if _, err := os.Stat(filepath.Join(control, script)); err != nil {
				t.Errorf("maintainer script %s: %v", script, err)
			}
		}
		fields := run(t, "", nil, dpkgDeb, "-f", deb, "Package", "Version", "Architecture")
		if want := "Package: asanajira\nVersion: " + version + "\nArchitecture: amd64\n"; fields != want {
			t.Errorf("control fields:\n%s\nwant:\n%s", fields, want)
		}
	})

	t.Run("rpm", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dist, "asanajira-"+version+"-1.x86_64.rpm"))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 1<<20 || string(b[:4]) != "\xed\xab\xee\xdb" {
			t.Errorf("the rpm (%d bytes) does not start with the RPM lead", len(b))
		}
	})

	t.Run("image", func(t *testing.T) {
		archive := filepath.Join(dist, "asanajira_"+version+"_oci.tar")
		ref := "oci-archive:" + archive + ":" + version
		var idx struct {
			MediaType string `json:"mediaType"`
			Manifests []struct {
				Platform struct{ Architecture, OS string }
			}
		}
		if err := json.Unmarshal([]byte(run(t, "", nil, skopeo, "inspect", "--raw", ref)), &idx); err != nil {
			t.Fatal(err)
		}
		if idx.MediaType != "application/vnd.oci.image.index.v1+json" || len(idx.Manifests) != 1 ||
			idx.Manifests[0].Platform.Architecture != "amd64" || idx.Manifests[0].Platform.OS != "linux" {
			t.Errorf("image index: %+v, want one linux/amd64 image", idx)
		}
		var cfg struct {
			Config struct {
				User         string
				Entrypoint   []string
				Cmd          []string
				Env          []string
				ExposedPorts map[string]any
				Labels       map[string]string
			} `json:"config"`
		}
		if err := json.Unmarshal([]byte(run(t, "", nil, skopeo, "inspect", "--config", ref)), &cfg); err != nil {
			t.Fatal(err)
		}
		c := cfg.Config
		if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/usr/bin/asanajira" || strings.Join(c.Cmd, " ") != "serve" ||
			c.ExposedPorts["8080/tcp"] == nil || c.Labels["org.opencontainers.image.version"] != version ||
			c.Labels["org.opencontainers.image.revision"] != commit {
			t.Errorf("image config: %+v", c)
		}

		// umoci unpacks one image: copy the host's platform out first.
		single := filepath.Join(t.TempDir(), "layout")
		run(t, "", nil, skopeo, "copy", "--quiet", ref, "oci:"+single+":asanajira")
		bundle := filepath.Join(t.TempDir(), "bundle")
		run(t, "", nil, umoci, "unpack", "--rootless", "--image", single+":asanajira", bundle)
		rootfs := filepath.Join(bundle, "rootfs")
		if got := run(t, "", nil, filepath.Join(rootfs, "usr/bin/asanajira"), "version"); !strings.HasPrefix(got, wantVersionLine) {
			t.Errorf("the image's binary says %q, want %q…", got, wantVersionLine)
		}
		for _, absent := range []string{"bin/sh", "usr/bin/sh", "bin/busybox"} {
			if _, err := os.Lstat(filepath.Join(rootfs, absent)); err == nil {
				t.Errorf("the image has %s; it should have no shell", absent)
			}
		}
		for _, present := range []string{"etc/ssl/certs/ca-certificates.crt", "etc/passwd", "tmp", "var/lib/asanajira"} {
			if _, err := os.Stat(filepath.Join(rootfs, present)); err != nil {
				t.Errorf("the image lacks %s: %v", present, err)
			}
		}
		passwd, _ := os.ReadFile(filepath.Join(rootfs, "etc/passwd"))
		if !strings.Contains(string(passwd), "asanajira:x:65532:65532:") {
			t.Errorf("/etc/passwd does not name the image's user:\n%s", passwd)
		}
		var bundleCfg struct {
			Process struct {
				User struct{ UID, GID int } `json:"user"`
				Args []string
				Cwd  string
			} `json:"process"`
		}
		b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &bundleCfg); err != nil {
			t.Fatal(err)
		}
		if p := bundleCfg.Process; p.User.UID != 65532 || p.User.GID != 65532 || p.Cwd != "/var/lib/asanajira" ||
			strings.Join(p.Args, " ") != "/usr/bin/asanajira serve" {
			t.Errorf("runtime config: %+v", p)
		}
	})
}

// verifyUnit runs systemd-analyze verify on the unit with ExecStart pointed
// at binary (verify wants it installed). verify exits 0 on unknown keys and
// bad values and only prints them, so any output is a failure.
func verifyUnit(t *testing.T, systemdAnalyze, unit, binary string) {
	t.Helper()
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(t.TempDir(), "asanajira.service")
	if err := os.WriteFile(copied, []byte(strings.ReplaceAll(string(b), "/usr/bin/asanajira", binary)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), systemdAnalyze, "verify", copied).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// checkSums verifies every line of SHA256SUMS against its file and returns
// the names listed.
func checkSums(t *testing.T, dist string) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		b, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not match", name)
		}
		names[name] = true
	}
	return names
}

func tarGzFiles(t *testing.T, path string) map[string]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h.Size
	}
}
