package architecture

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/asanajira/asanajira"

type pkg struct {
	path        string // relative to the module, e.g. internal/jira
	imports     []string
	testImports []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-e", "-f",
		`{{.ImportPath}}|{{join .Imports ","}}|{{join .TestImports ","}},{{join .XTestImports ","}}`, module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "|")
		if len(parts) != 3 {
			continue
		}
		pkgs = append(pkgs, pkg{path: rel(parts[0]), imports: internalOnly(parts[1]), testImports: internalOnly(parts[2])})
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

func internalOnly(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if strings.HasPrefix(p, module+"/") {
			out = append(out, rel(p))
		}
	}
	return out
}

func under(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

func TestDependencyRules(t *testing.T) {
	t.Parallel()
	features := []string{"internal/appcomponents", "internal/connect", "internal/admin", "internal/jirawebhook", "internal/asanaintake"}
	leaves := []string{"internal/jira", "internal/asana", "internal/store", "internal/secrets", "internal/config",
		"internal/httpx", "internal/version", "internal/fakes", "web"}

	for _, p := range listPackages(t) {
		for _, imp := range p.imports {
			// HTTP feature packages never import each other or jobs.
			for _, f := range features {
				if under(p.path, f) {
					for _, other := range append(slices.Clone(features), "internal/jobs") {
						if under(imp, other) && !under(imp, f) {
							t.Errorf("%s imports %s: feature packages declare the interface they need and internal/app injects it", p.path, imp)
						}
					}
				}
			}
			// Leaves import nothing from internal/, except that store
			// implementations import store, and the store conformance suite
			// also uses real sealing.
			for _, l := range leaves {
				if !under(p.path, l) {
					continue
				}
				allowed := under(imp, l) && l != "internal/fakes"
				if l == "internal/store" {
					allowed = imp == "internal/store" || (p.path == "internal/store/storetest" && imp == "internal/secrets")
				}
				if l == "internal/fakes" {
					allowed = under(imp, p.path) // an emulator's own subpackages only
				}
				if !allowed {
					t.Errorf("%s imports %s: %s may import nothing else from internal/", p.path, imp, l)
				}
			}
			// Nothing below the command line imports the composition root.
			if under(imp, "internal/app") && p.path != "internal/cli" && !under(p.path, "e2e") && !under(p.path, "bench") {
				t.Errorf("%s imports internal/app: only internal/cli (and e2e, bench) may", p.path)
			}
			// The exactly-once writer sits below the rules: it knows the
			// clients and the store, nothing that uses it.
			if under(p.path, "internal/effects") && !under(imp, "internal/effects") &&
				!slices.Contains([]string{"internal/store", "internal/asana", "internal/jira"}, imp) {
				t.Errorf("%s imports %s: internal/effects may import only store, asana and jira", p.path, imp)
			}
			// The sync engine sits beside bridge: it may use bridge's rules,
			// the exactly-once writer, the clients and the store, never HTTP
			// serving, the queue (it enqueues through an interface) or
			// credentials (it gets clients through bridge.Clients).
			// (Its test bench, synctest, wires the emulators, databases and
			// queue around it.)
			if under(p.path, "internal/syncengine") && p.path != "internal/syncengine/synctest" && !under(imp, "internal/syncengine") &&
				!slices.Contains([]string{"internal/bridge", "internal/effects", "internal/store", "internal/jira", "internal/asana"}, imp) {
				t.Errorf("%s imports %s: internal/syncengine may import only bridge, effects, store, jira and asana", p.path, imp)
			}
			// The Asana intake is an edge: it records changes with the sync
			// engine and keeps its state in the store; it knows nothing of
			// the rules, the credentials or the queue.
			if under(p.path, "internal/asanaintake") && !under(imp, "internal/asanaintake") &&
				!slices.Contains([]string{"internal/syncengine", "internal/store", "internal/asana", "internal/httpx"}, imp) {
				t.Errorf("%s imports %s: internal/asanaintake may import only syncengine, store, asana and httpx", p.path, imp)
			}
			if under(p.path, "internal/bridge") && under(imp, "internal/syncengine") {
				t.Errorf("%s imports %s: the sync engine builds on bridge, not the other way", p.path, imp)
			}
			// The business rules stay free of HTTP serving and the queue.
			if under(p.path, "internal/bridge") && (under(imp, "internal/httpx") || under(imp, "internal/jobs")) {
				t.Errorf("%s imports %s: bridge holds rules, not HTTP serving or queue code", p.path, imp)
			}
			// The setup service sits beside bridge, below its four faces
			// (console and API in admin, the CLI, apply): it knows no HTTP
			// serving, no queue and no face.
			if under(p.path, "internal/setup") {
				for _, below := range append(slices.Clone(features), "internal/httpx", "internal/jobs", "internal/cli", "internal/app", "internal/bridge") {
					if under(imp, below) {
						t.Errorf("%s imports %s: setup sits below the faces that use it and beside bridge", p.path, imp)
					}
				}
			}
		}
		// The emulators are written from the references, never from the
		// clients' types, in tests too.
		if under(p.path, "internal/fakes") {
			for _, imp := range slices.Concat(p.imports, p.testImports) {
				if under(imp, "internal/jira") || under(imp, "internal/asana") {
					t.Errorf("%s imports %s: the emulators must not share the clients' types", p.path, imp)
				}
			}
		}
	}
}

func TestNonTestCodeOfFakesUsesOnlyTheStandardLibrary(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-e", "-f", `{{.ImportPath}}|{{join .Imports ","}}`, module+"/internal/fakes/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, "|")
		for _, imp := range strings.Split(imports, ",") {
			if imp == "" || strings.HasPrefix(imp, module+"/internal/fakes/") {
				continue
			}
			first, _, _ := strings.Cut(imp, "/")
			if strings.Contains(first, ".") {
				t.Errorf("%s imports %s: emulators use the standard library only", rel(path), imp)
			}
		}
	}
}
