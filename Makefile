# asanajira developer tasks. `make help` lists them.
GO ?= go
# The version stamped into builds: the tag when HEAD is tagged vX.Y.Z, else
# CHANGELOG.md's latest version plus the commit (packaging/version.sh).
VERSION ?= $(shell sh packaging/version.sh)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
VERSION_PKG := github.com/asanajira/asanajira/internal/version
LDFLAGS := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT) -X $(VERSION_PKG).Date=$(DATE)
GORELEASER ?= $(GO) run github.com/goreleaser/goreleaser/v2@v2.15.1
# go install puts cyclonedx-gomod (the SBOM generator GoReleaser runs) here.
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: help build version test test-ci lint demo update-golden release-check release-snapshot

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

build: ## build ./bin/asanajira (pure Go, no cgo), stamped with the version
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/asanajira ./cmd/asanajira

version: ## print the version make build stamps
	@echo $(VERSION)

test: ## run every test with the race detector (PostgreSQL tests need TEST_POSTGRES_URL)
	$(GO) test -race -count=1 -timeout 30m ./...

test-ci: ## install what the tests need on a Debian machine, start PostgreSQL, run every test
	bash .ci/run

lint: ## gofmt, go vet and golangci-lint
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	golangci-lint run ./...

demo: ## run the whole product on this machine with the Jira and Asana emulators
	$(GO) run ./cmd/asanajira demo

update-golden: ## rewrite golden files from the current output
	$(GO) test ./... -run Golden -update

release-check: ## validate .goreleaser.yaml
	$(GORELEASER) check

release-snapshot: ## build every release artefact into dist/ (binaries, archives, SHA256SUMS, SBOM, deb, rpm, OCI image)
	@command -v cyclonedx-gomod >/dev/null || { echo "needs cyclonedx-gomod: go install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0" >&2; exit 1; }
	ASANAJIRA_VERSION=$(VERSION) $(GORELEASER) release --snapshot --clean
