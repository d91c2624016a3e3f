# Developer entry points. `make test` is what CI runs.
GO        ?= go
PKGS      ?= ./...
TIMEOUT   ?= 9m
BENCHTIME ?= 1s
FUZZTIME  ?= 30s

.PHONY: all test vet leakcheck bench lint fmt cover tidy

all: test

## test: vet, the goleak guard, then every test with the race detector.
test: vet leakcheck
	$(GO) test -race -count=1 -timeout $(TIMEOUT) $(PKGS)

vet:
	$(GO) vet $(PKGS)

## leakcheck: every package that has tests must verify goroutine leaks in TestMain.
leakcheck:
	@missing=0; \
	for d in $$(find . -name '*_test.go' -not -path './.git/*' -exec dirname {} \; | sort -u); do \
		if ! grep -qs 'goleak.VerifyTestMain' $$d/*_test.go; then \
			echo "missing goleak.VerifyTestMain in $$d"; missing=1; \
		fi; \
	done; \
	exit $$missing

## bench: every benchmark, with allocations, no tests.
bench:
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
