# crmhub development tasks. `make run` serves the API on :8080 with a
# development API key; `make test` runs every test against the local
# PostgreSQL, which both start if it is not running.

GO       ?= go
BIN      := bin/crmhub
PG_HOST  ?= 127.0.0.1
PG_PORT  ?= 5432
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: run run-cluster help build image test flake fuzz generate bench bench-scale bench-go lint staticcheck pg clean

## run: start PostgreSQL, build, and serve with a development API key;
## connections and webhooks may reach this machine (the fake CRMs, a local
## webhook receiver) unless the environment says otherwise
run: pg build
	CRMHUB_CONNECTOR_ALLOW_PRIVATE=$${CRMHUB_CONNECTOR_ALLOW_PRIVATE:-true} \
	CRMHUB_WEBHOOK_ALLOW_PRIVATE=$${CRMHUB_WEBHOOK_ALLOW_PRIVATE:-true} \
	./$(BIN) serve --dev-key

## help: list these targets with what they do
help:
	@sed -n 's/^## //p' Makefile

## run-cluster: start PostgreSQL, build, and serve three processes on one
## database (:8081, :8082, :8083) with the development API key; a write
## through one reaches subscribers and webhooks through all. Ctrl-C stops all
run-cluster: pg build
	@trap 'kill 0' INT TERM EXIT; \
	export CRMHUB_CONNECTOR_ALLOW_PRIVATE=$${CRMHUB_CONNECTOR_ALLOW_PRIVATE:-true}; \
	for port in 8081 8082 8083; do \
		migrate=--no-migrate; [ $$port = 8081 ] && migrate=; \
		./$(BIN) serve --addr 127.0.0.1:$$port --dev-key $$migrate 2>&1 | sed -u "s/^/[$$port] /" & \
		for i in $$(seq 1 60); do curl -fs http://127.0.0.1:$$port/readyz >/dev/null && break; sleep 0.5; done; \
	done; \
	echo "three processes on one database: http://localhost:8081 http://localhost:8082 http://localhost:8083 (Ctrl-C stops them)"; \
	wait

## build: compile the binary to bin/crmhub
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/crmhub

## image: build the container image crmhub:$(VERSION) from the static binary
## and the CA certificates (Dockerfile; no base image is pulled). IMAGE_BUILD
## is the builder: podman, buildah or docker, whichever is installed.
IMAGE_BUILD ?= $(shell if command -v podman >/dev/null; then echo podman build; \
	elif command -v buildah >/dev/null; then echo buildah bud --isolation chroot; \
	else echo docker build; fi)
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS) -s -w" -o bin/image/crmhub ./cmd/crmhub
	cp /etc/ssl/certs/ca-certificates.crt bin/image/ca-certificates.crt
	$(IMAGE_BUILD) -t crmhub:$(VERSION) -f Dockerfile .

## test: start PostgreSQL and run every test (TESTFLAGS=-race under the race
## detector, TESTPKGS to pick packages; CI runs the benchmarks' packages,
## whose tests measure throughput, without -race and the rest with it)
TESTFLAGS ?=
TESTPKGS  ?= ./...
test: pg
	$(GO) test -count=1 $(TESTFLAGS) -timeout 30m $(TESTPKGS)

## flake: run the tests of the packages changed since the branch point (or
## FLAKE_BASE) 20 times; FLAKE_RACE=1 adds -race, FLAKE_DEPS=1 their importers,
## PKGS='./db/' picks packages. Run it before resolving an issue.
flake: pg
	./.ci/flake

## fuzz: run each native Go fuzz test for FUZZTIME (default 10000x: inputs, not
## seconds, which Go 1.26 can fail on a loaded machine; see .ci/fuzz)
fuzz: pg
	./.ci/fuzz

## generate: regenerate graph/ from schema.graphqls and gqlgen.yml
generate:
	$(GO) run ./cmd/crmhub-generate

## bench: seed a fresh benchmark database and run every workload against crmhub,
## PostGraphile and the raw-SQL floor, alternating; writes BENCHMARKS.md (needs npm)
bench: pg build
	$(GO) run ./bench/cmd/crmhub-bench $(BENCHFLAGS)

## bench-scale: how cost grows with the table: seeds 100k and 1M contacts (a
## database each, dropped after) and measures the same requests at both, one at
## a time and 8 in flight; prints the table (BENCHMARKS.md, Scaling). Heavy
## (the 1M seed takes several minutes), so it runs under nice -n 10;
## BENCHSCALEFLAGS adds flags (-sizes, -duration, -keep, -out)
bench-scale: pg build
	$(GO) build -o bin/crmhub-bench ./bench/cmd/crmhub-bench
	nice -n 10 bin/crmhub-bench scale $(BENCHSCALEFLAGS)

## bench-go: the Go micro-benchmarks (testing.B, -benchmem) of the domain services
bench-go: pg
	$(GO) test -run '^$$' -bench . -benchmem ./...

## staticcheck: run staticcheck (pinned; fetched through the module proxy)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck:
	$(GO) run $(STATICCHECK) ./...

## lint: gofmt, go vet and staticcheck
lint: staticcheck
	@files=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$files" ]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...

## pg: start the local PostgreSQL cluster unless it answers, then wait for it
pg:
	@pg_isready -h $(PG_HOST) -p $(PG_PORT) -q || \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -n 1) main start
	@for i in $$(seq 1 30); do \
		pg_isready -h $(PG_HOST) -p $(PG_PORT) -q && exit 0; \
		sleep 1; \
	done; \
	echo "PostgreSQL is not ready on $(PG_HOST):$(PG_PORT) after 30s" >&2; exit 1

## clean: remove build output
clean:
	rm -rf bin
