# rotor: see README.md. `make demo` and `make test` are the two commands a
# fresh machine needs.

GOARCH     ?= arm64
FUNCTIONS  := $(notdir $(wildcard functions/*))
DIST       := dist
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags "-s -w"
FUZZTIME   ?= 10s
# Optional PEM bundle (e.g. AWS's RDS global-bundle.pem) shipped in every zip.
RDS_CA_BUNDLE ?=

ZIPS       := $(FUNCTIONS:%=$(DIST)/%.zip)

.PHONY: all build test bench lint demo clean $(ZIPS)

all: lint build test

## build: every function under functions/ -> dist/<name>/bootstrap and dist/<name>.zip (provided.al2023)
build: $(ZIPS)

# Always rebuilt (phony): go build is incremental, and GOARCH may change.
$(ZIPS): $(DIST)/%.zip:
	@mkdir -p $(DIST)/$*
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build $(GOFLAGS_LAMBDA) -o $(DIST)/$*/bootstrap ./functions/$*
	@if [ -n "$(RDS_CA_BUNDLE)" ]; then cp "$(RDS_CA_BUNDLE)" $(DIST)/$*/rds-ca-bundle.pem; fi
	@rm -f $@
	go run ./cmd/lambdazip -o $@ $(DIST)/$*
	@echo "built $@ ($(GOARCH))"

## test: unit, integration (throwaway PostgreSQL, moto_server) and a short fuzz run
test:
	go vet ./...
	go test -count=1 -timeout 30m ./...
	go test -count=1 -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./rotators/dbsecret

## bench: Secrets Manager calls per rotation, time of a full rotation
bench:
	go test -count=1 -run '^$$' -bench . -benchmem -timeout 30m ./...

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...

## demo: rotations against the in-memory store and a throwaway PostgreSQL
demo:
	@mkdir -p $(DIST)
	go build -o $(DIST)/rotor-demo ./cmd/rotor-demo
	$(DIST)/rotor-demo $(DEMO_FLAGS)

clean:
	rm -rf $(DIST)
