# Quartermaster — developer entry points.
#   make build   build the web console (npm), then compile bin/quartermaster with it
#   make run     build, seed demo tenants, serve
#   make test    go vet + the console's checks + every test, browser journeys
#                included (against a throwaway PostgreSQL)
#   make openapi rewrite ui/openapi.json after changing the API
#   make screenshots  retake the README's pictures of the console (docs/)

# Use `go` from PATH, falling back to the standard install location.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
GOFMT ?= $(shell $(GO) env GOROOT 2>/dev/null)/bin/gofmt

BIN := bin/quartermaster

.PHONY: build run test vet fmt clean ui ui-check openapi screenshots

build: ui
	$(GO) build -o $(BIN) ./cmd/quartermaster

# npm ci only when the lock file changed since the last install.
ui/node_modules/.package-lock.json: ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund

# The console, into ui/dist/console, which the binary embeds.
ui: ui/node_modules/.package-lock.json
	cd ui && npm run build

ui-check: ui/node_modules/.package-lock.json
	cd ui && npm run check

openapi:
	$(GO) test ./httpapi -run '^TestOpenAPIFile$$' -update-openapi

# The README's pictures of the console, made by its journeys.
screenshots: build
	scripts/with-postgres.sh env QM_SCREENSHOTS=../docs $(GO) test -count=1 -run '^TestConsole$$' ./ui

run: build
	./$(BIN) demo --data-dir ./data
	exec ./$(BIN) serve --data-dir ./data --metrics-addr 127.0.0.1:9464 --simulate acme:3

vet:
	$(GO) vet ./...

# The race detector's flags for modernc.org/sqlite/lib, the SQLite C
# library translated to Go: its every memory access through unsafe pointers
# is checked (checkptr) and shadowed (race) otherwise, which took half of
# the suite's time on SQLite. Its races are not ours to find; our code
# around it stays fully checked.
RACE_FLAGS := -race -gcflags='modernc.org/sqlite/lib=-d=checkptr=0 -race=false'

# The one command that runs every test.
test: vet ui ui-check
	scripts/ensure-tools.sh
	scripts/with-postgres.sh scripts/go-test-all.sh $(GO) $(RACE_FLAGS) -count=1 -timeout 20m

# Fails (listing the files) if anything is not gofmt-formatted.
fmt:
	@out="$$(find . -name '*.go' -not -path './.git/*' -not -path './vendor/*' -print0 | xargs -0 -r $(GOFMT) -l)" || exit 1; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin data ui/dist/console ui/node_modules
