# asanajira developer tasks. `make help` lists them.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/asanajira/asanajira/internal/version.Version=$(VERSION) -X github.com/asanajira/asanajira/internal/version.Commit=$(COMMIT)

.PHONY: help build test test-ci lint demo update-golden

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build ./bin/asanajira (pure Go, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/asanajira ./cmd/asanajira

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
