# Muster's developer commands. `make run` starts the whole platform with demo
# content; `make test` runs every check CI runs.
SHELL := /bin/bash
export GOFLAGS := -mod=mod
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test lint generate services bench bench-realtime bench-bots drill clean

## run: start every target in one process (PostgreSQL found or started, demo data seeded)
run: build
	@[ -n "$$MUSTER_DATABASE_URL" ] || command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || deploy/local/services.sh postgres
	./bin/muster dev

## build: build bin/muster
build:
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/muster ./cmd/muster

## services: make sure PostgreSQL and Redis are up for the tests
services:
	deploy/local/services.sh

## lint: generated views up to date, formatting, go vet, staticcheck
lint:
	@sums() { find . -name '*_templ.go' -not -path './.muster/*' | sort | xargs -r sha256sum; }; \
	  before=$$(sums); go tool templ generate >/dev/null 2>&1; after=$$(sums); \
	  if [ "$$before" != "$$after" ]; then echo "templ generate changed the generated views: run make generate and commit them"; exit 1; fi
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -name '*_templ.go' -not -path './.muster/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...

## generate: regenerate the templ views (console/**/*_templ.go) and the realtime protocol's Go code (needs protoc)
generate:
	go tool templ generate
	PATH="$$(dirname $$(go tool -n protoc-gen-go)):$$PATH" protoc --go_out=. --go_opt=paths=source_relative realtime/protocol/pb/muster.proto

## test: lint, then every test against real PostgreSQL and Redis, with the race detector
test: services lint
	go test -race -count=1 -timeout 10m ./...
	go test -run '^$$' -fuzz FuzzReadFrame -fuzztime 10s ./realtime/protocol

## bench: Go benchmarks and the end-to-end HTTP figure (see bench/README.md)
bench:
	go test -run='^$$' -bench=. -benchmem ./...
	bench/healthz.sh

## bench-realtime: the realtime gateway end to end: 100,000 idle connections over 6 gateways, then notification fan-out at 20,000 clients (bench/realtime.sh)
bench-realtime:
	bench/realtime.sh

## bench-bots: muster bots end to end, 2000 players for 2 minutes against muster dev, then against the platform split in two processes (bench/bots.sh; PLAYERS, DURATION, RAMP override)
bench-bots:
	bench/bots.sh

## drill: two instances behind nginx (HTTP and realtime TCP) restarted one after the other under load; fails on any failed request, unresumed session or lost notification (docs/operations.md; not in test: two minutes, both cores)
drill:
	deploy/drill/drill.sh

clean:
	rm -rf bin
