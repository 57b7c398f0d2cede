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

.PHONY: all build test bench lint demo deps clean $(ZIPS)

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

## deps: what the tests and the demo need beyond Go modules: PostgreSQL's
## server binaries (installed from Debian's packages when missing) and moto_server
deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing PostgreSQL server binaries (Debian package postgresql)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@command -v moto_server >/dev/null 2>&1 || [ -x /root/.pyenv/shims/moto_server ] || { \
		echo "moto_server is missing: install moto with its server (pip install 'moto[server]')"; exit 1; }

## test: unit, integration (throwaway PostgreSQL, moto_server) and a short fuzz run
test: deps
	go vet ./...
	go test -race -count=1 -timeout 30m ./...
	go test -count=1 -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./rotators/dbsecret

## bench: deps Secrets Manager calls per rotation, time of a full rotation
bench: deps
	go test -count=1 -run '^$$' -bench . -benchmem -timeout 30m ./...

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	go run $(STATICCHECK) ./...

## demo: rotations against the in-memory store and a throwaway PostgreSQL
demo: deps
	@mkdir -p $(DIST)
	go build -o $(DIST)/rotor-demo ./cmd/rotor-demo
	$(DIST)/rotor-demo $(DEMO_FLAGS)

clean:
	rm -rf $(DIST)
