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

# AWS's Lambda Runtime Interface Emulator runs the functions' bootstrap
# binaries locally. It has no tagged release in the module proxy: this is the
# newest commit, pinned (test/awslocal/lambda checks it pins the same).
RIE_MODULE  := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
GOBIN_DIR   := $(or $(shell go env GOBIN),$(shell go env GOPATH)/bin)
# Bootstraps for this machine (the demo and the end-to-end tests run them
# under aws-lambda-rie here, whatever GOARCH the zips are for).
LOCAL_DIST  := $(DIST)/local

.PHONY: all build local-build test bench lint demo deps rie synth clean $(ZIPS)

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

## local-build: every function built for this machine -> dist/local/<name>/bootstrap
local-build:
	@for f in $(FUNCTIONS); do \
		CGO_ENABLED=0 go build $(GOFLAGS_LAMBDA) -o $(LOCAL_DIST)/$$f/bootstrap ./functions/$$f || exit 1; done

## rie: aws-lambda-rie, installed with go install at the pinned version when missing
rie:
	@[ -x "$(GOBIN_DIR)/aws-lambda-rie" ] || command -v aws-lambda-rie >/dev/null 2>&1 || { \
		echo "installing aws-lambda-rie $(RIE_VERSION)"; \
		GOBIN="$(GOBIN_DIR)" go install $(RIE_MODULE)@$(RIE_VERSION); }

## deps: what the tests and the demo need beyond Go modules: PostgreSQL's
## server binaries (installed from Debian's packages when missing), moto_server
## and aws-lambda-rie
deps: rie
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing PostgreSQL server binaries (Debian package postgresql)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@command -v moto_server >/dev/null 2>&1 || [ -x /root/.pyenv/shims/moto_server ] || { \
		echo "moto_server is missing: install moto with its server (pip install 'moto[server]')"; exit 1; }
	@command -v aws >/dev/null 2>&1 || { echo "the AWS CLI (aws) is missing: the CLI session test runs it"; exit 1; }
	@command -v node >/dev/null 2>&1 || { echo "Node.js is missing: the CDK app's tests run jsii in node"; exit 1; }

## test: unit, integration (throwaway PostgreSQL, moto_server, aws-lambda-rie,
## the AWS CLI), short fuzz runs, and the CDK app's tests (infra/, its own module)
test: deps
	go vet ./...
	go test -race -count=1 -timeout 30m ./...
	go test -count=1 -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./rotators/dbsecret
	go test -count=1 -run '^$$' -fuzz '^FuzzMatch$$' -fuzztime $(FUZZTIME) ./test/awslocal/eventpattern
	$(MAKE) -C infra test

## synth: the CDK app synthesizes every environment of infra/environments.json
## into infra/cdk.out, without AWS credentials (builds the functions first)
synth: build
	$(MAKE) -C infra synth

## bench: Secrets Manager calls per rotation (warm and cold steps), time of a
## full rotation, CPU and wall time of a cold step, consumer load
bench: deps
	go test -count=1 -run '^$$' -bench . -benchmem -timeout 30m ./...

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: gofmt, go vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	go run $(STATICCHECK) ./...

## demo: the local AWS endpoint rotates a PostgreSQL secret on a compressed
## schedule, running the real function under aws-lambda-rie, while consumers query
demo: deps local-build
	go build -o $(DIST)/rotor-demo ./cmd/rotor-demo
	$(DIST)/rotor-demo -bootstrap $(LOCAL_DIST)/postgres/bootstrap $(DEMO_FLAGS)

clean:
	rm -rf $(DIST)
