# Developer entry points. `make test` is what CI runs.
GO        ?= go
PKGS      ?= ./...
TIMEOUT   ?= 9m
BENCHTIME ?= 1s
# BENCHCOUNT: runs of each benchmark `make bench` summarises (median and range).
BENCHCOUNT ?= 3
# BENCHOUT: where `make bench` keeps the raw `go test -bench` output.
BENCHOUT  ?= bench.out
FUZZTIME  ?= 30s
# NESTED: the nested modules (contrib/...), each with its own go.mod; test and
# vet cover them too, one module at a time.
NESTED    ?= $(sort $(patsubst %/go.mod,%,$(shell find . -mindepth 2 -name go.mod -not -path './.git/*')))

.PHONY: all test vet leakcheck examples bench bench-all lint fmt cover tidy

all: test

## test: vet, the goleak guard, every example (each checks what it shows and
## exits non-zero when it is wrong), then every test with the race detector,
## in the module and in each nested module.
test: vet leakcheck examples
	$(GO) test -race -count=1 -timeout $(TIMEOUT) $(PKGS)
	@set -e; for dir in $(NESTED); do \
		echo "== test $$dir"; \
		(cd $$dir && $(GO) mod download && $(GO) test -race -count=1 -timeout $(TIMEOUT) ./...); \
	done

## examples: run every program under examples/ against an in-process cluster
## (or DEIMOS_ENDPOINTS when set).
examples:
	@set -e; for dir in $$(find examples -mindepth 1 -maxdepth 1 -type d ! -name internal | sort); do \
		echo "== go run ./$$dir"; \
		$(GO) run ./$$dir > /dev/null || { echo "FAIL: $$dir"; exit 1; }; \
	done

vet:
	$(GO) vet $(PKGS)
	@set -e; for dir in $(NESTED); do \
		echo "== vet $$dir"; \
		(cd $$dir && $(GO) mod download && $(GO) vet ./...); \
	done

## leakcheck: every package that has tests must verify goroutine leaks in TestMain.
leakcheck:
	@missing=0; \
	for d in $$(find . -name '*_test.go' -not -path './.git/*' -exec dirname {} \; | sort -u); do \
		if ! grep -qs 'goleak.VerifyTestMain' $$d/*_test.go; then \
			echo "missing goleak.VerifyTestMain in $$d"; missing=1; \
		fi; \
	done; \
	exit $$missing

## bench: the side-by-side benchmarks (the client against plain net/http,
## hedging against none and against a raw round-robin over the same three
## endpoints, a watch stream against a raw long-poll loop, Unlock against a
## bare compare-and-delete), BENCHCOUNT runs each, summarised as ratios
## (median and range) with the targets they are held to. The raw output is
## kept in BENCHOUT. A missed target fails the target.
bench:
	$(GO) test -run '^$$' -bench '^Benchmark(Get|Set|Hedging|PausedNode|Stream|Stream_FollowerLag|Mutex_Unlock)$$' -benchmem \
		-benchtime $(BENCHTIME) -count $(BENCHCOUNT) . ./watch ./concurrency > $(BENCHOUT) || { cat $(BENCHOUT); exit 1; }
	$(GO) run ./test/benchtable $(BENCHOUT)

## bench-all: every benchmark of the module, with allocations.
bench-all:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

## lint: staticcheck, pinned as a tool in go.mod.
lint:
	$(GO) tool staticcheck $(PKGS)

fmt:
	gofmt -s -w $$(git ls-files '*.go')

cover:
	$(GO) test -race -count=1 -coverprofile=coverage.out $(PKGS)
	$(GO) tool cover -func=coverage.out | tail -n 1

tidy:
	$(GO) mod tidy
	@set -e; for dir in $(NESTED); do (cd $$dir && $(GO) mod tidy); done

## robustness: the long robustness run (traffic + faults + linearizability, watch,
## lock, semaphore and election checks) for ROBUSTNESS_DURATION; `make test` runs a 12 s one.
ROBUSTNESS_DURATION ?= 5m
ROBUSTNESS_TIMEOUT  ?= 60m
.PHONY: robustness fuzz
robustness:
	ROBUSTNESS_DURATION=$(ROBUSTNESS_DURATION) $(GO) test -race -count=1 -v -timeout $(ROBUSTNESS_TIMEOUT) \
		-run '^TestRobustness$$' ./test/robustness

## fuzz: every fuzz target of the module for FUZZTIME each (go test -fuzz takes one
## target per run).
fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for fz in $$($(GO) test -list '^Fuzz' $$dir | grep '^Fuzz'); do \
			echo "== fuzz $$dir $$fz for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$fz$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done
