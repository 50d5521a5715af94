# trtc-emulator — see README.md.
GO       ?= go
FUZZTIME ?= 10s
NPM_DIR  := tools/npm

.PHONY: run build deps test test-short vet generate check-generated fuzz bench bench-go clean

## run: serve with the embedded defaults (SQLite in ./.trtc-emulator, default app and keys)
run:
	$(GO) run ./cmd/trtc-emulator

## build: bin/trtc-emulator
build:
	$(GO) build -o bin/trtc-emulator ./cmd/trtc-emulator

## deps: the npm packages tests use as outside peers and as generator input
deps: $(NPM_DIR)/node_modules/.package-lock.json
$(NPM_DIR)/node_modules/.package-lock.json: $(NPM_DIR)/package.json $(NPM_DIR)/package-lock.json
	npm ci --prefix $(NPM_DIR) --no-audit --no-fund

## test: vet, formatting, generated files up to date, and every test with the race detector
test: deps vet
	$(GO) test -race -count=1 ./...

## test-short: the quick local loop (skips tests that need node)
test-short:
	$(GO) test -short ./...

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## generate: regenerate wire and openapi.yaml from the SDK definitions
generate: deps
	$(GO) run ./cmd/wiregen

check-generated: deps
	$(GO) run ./cmd/wiregen -check

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	  done; \
	done

## bench: the API against its reference servers (ratios to the read and write ceilings, CPU
## per request, history cost; every answer checked). BENCH_FLAGS e.g. "-rounds 9" or
## "-baseline /path/to/an/older/trtc-emulator".
BENCH_FLAGS ?=
bench: build
	$(GO) run ./cmd/bench -emulator bin/trtc-emulator $(BENCH_FLAGS)

## bench-go: the Go benchmarks (API throughput, signature, decoding, policies, recorder)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
