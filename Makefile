# Quartermaster — developer entry points.
#   make build   compile bin/quartermaster
#   make run     build, seed demo tenants, serve
#   make test    go vet + every test (against a throwaway PostgreSQL)

# Use `go` from PATH, falling back to the standard install location.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
GOFMT ?= $(shell $(GO) env GOROOT 2>/dev/null)/bin/gofmt

BIN := bin/quartermaster

.PHONY: build run test vet fmt clean

build:
	$(GO) build -o $(BIN) ./cmd/quartermaster

run: build
	./$(BIN) demo --data-dir ./data
	exec ./$(BIN) serve --data-dir ./data --metrics-addr 127.0.0.1:9464 --simulate acme:3

vet:
	$(GO) vet ./...

# The one command that runs every test.
test: vet
	scripts/ensure-tools.sh
	scripts/with-postgres.sh $(GO) test -race -count=1 -timeout 12m ./...

# Fails (listing the files) if anything is not gofmt-formatted.
fmt:
	@out="$$(find . -name '*.go' -not -path './.git/*' -not -path './vendor/*' -print0 | xargs -0 -r $(GOFMT) -l)" || exit 1; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin data
