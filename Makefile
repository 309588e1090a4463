# execguard: build, test, demo and benchmarks. Run as root on Debian 12.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

GO      ?= go
BIN     := bin
WRAPPER := $(BIN)/execguard-runc
# execguard version: the tag or commit of the checkout, else "devel".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

.PHONY: all build generate image image-context setup test unit e2e demo bench vet clean

all: build

# The wrapper is a fresh process on every runtime call, lives a millisecond
# or two and never collects garbage. Go 1.26's default collector (Green Tea)
# keeps mark bits at the end of every small-object span, so each allocation
# size a process uses costs one more fresh memory page: the wrapper is built
# without it while the toolchain still offers that (Go 1.26; the opt-out is
# to go in 1.27, and the probe then leaves the default). About 40 µs of a
# deciding call's own work and 20-40 µs of a pass-through's (execguard-bench
# -cold, which builds its Go floor the same way). The shim, plugin and CLI,
# which live long and do collect, keep the default. Exported for the e2e
# tests, which build the wrapper themselves. Probed once per make run (an
# exported recursive variable would run go env for every recipe line).
ifeq ($(origin WRAPPER_GOEXPERIMENT),undefined)
WRAPPER_GOEXPERIMENT := $(shell GOEXPERIMENT=nogreenteagc $(GO) env GOEXPERIMENT 2>/dev/null)
endif
export WRAPPER_GOEXPERIMENT

# Every command but the wrapper, built with the toolchain's defaults.
OTHER_CMDS := $(addprefix ./,$(filter-out cmd/execguard-runtime,$(wildcard cmd/*)))

# execguard (the CLI and NRI plugin), execguard-runtime (the wrapper), the
# demo and the benchmark; bin/execguard-runc is the wrapper under runc's name.
build:
	$(GO) build -ldflags "-X main.buildVersion=$(VERSION)" -o $(BIN)/ $(OTHER_CMDS)
	GOEXPERIMENT=$(WRAPPER_GOEXPERIMENT) $(GO) build -ldflags "-X main.buildVersion=$(VERSION)" -o $(BIN)/ ./cmd/execguard-runtime
	ln -sf execguard-runtime $(WRAPPER)

# Generated sources: the built-in rules' queries compiled into Go
# (detect/eql/builtin_gen.go) and the event document's JSON member tables
# (detect/typeinfo_gen.go); tests fail until this runs after a change.
generate:
	$(GO) generate ./detect/...

# The node image (install/image/Containerfile): execguard, execguard-runtime
# and containerd-shim-execguard-v2, static, FROM scratch, written as an OCI
# archive; no registry is needed. The build uses its own podman storage under
# bin/, so the machine's image store is left alone; load the archive with
# `podman load -i`, `ctr -n k8s.io images import` or `docker load` (Docker
# 25+), or build into your own store with the line in the Containerfile.
# podman wants IMAGE_STORE's absolute path short (its run root: 50 characters).
IMAGE         ?= localhost/execguard/execguard:$(VERSION)
IMAGE_CONTEXT ?= $(BIN)/image
IMAGE_ARCHIVE ?= $(BIN)/execguard-image.oci.tar
IMAGE_STORE   ?= $(BIN)/.image-store
PODMAN        ?= podman
PODMAN_STORE   = --root $(abspath $(IMAGE_STORE))/root --runroot $(abspath $(IMAGE_STORE))/run --storage-driver vfs \
                 --tmpdir $(abspath $(IMAGE_STORE))/tmp --cgroup-manager cgroupfs --events-backend none
PODMAN_RUN     = TMPDIR=$(abspath $(IMAGE_STORE))/tmp $(PODMAN) $(PODMAN_STORE)

image-context:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.buildVersion=$(VERSION)" -o $(IMAGE_CONTEXT)/ \
		./cmd/execguard ./cmd/containerd-shim-execguard-v2
	CGO_ENABLED=0 GOEXPERIMENT=$(WRAPPER_GOEXPERIMENT) $(GO) build -trimpath -ldflags "-s -w -X main.buildVersion=$(VERSION)" \
		-o $(IMAGE_CONTEXT)/ ./cmd/execguard-runtime

image: image-context
	mkdir -p $(IMAGE_STORE)/tmp
	$(PODMAN_RUN) build --pull=never -f install/image/Containerfile --build-arg VERSION=$(VERSION) \
		-t $(IMAGE) $(IMAGE_CONTEXT)
	rm -f $(IMAGE_ARCHIVE)
	$(PODMAN_RUN) save --format oci-archive -o $(IMAGE_ARCHIVE) $(IMAGE)
	@echo "image $(IMAGE) in $(IMAGE_ARCHIVE)"

# Installs what tests, demo and benchmarks need (Debian packages, containerd,
# crictl); does nothing when all is there.
setup:
	bash test/setup-node.sh

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/

unit: vet
	$(GO) test -count=1 ./...

e2e: setup
	$(GO) test -tags e2e -count=1 -timeout 30m -v ./test/e2e/

test: setup unit e2e

# ENGINE=crio runs the demo on a private CRI-O instead of containerd.
ENGINE ?= containerd
demo: setup build
	$(GO) run ./cmd/execguard-demo -wrapper $(WRAPPER) -shim $(BIN)/containerd-shim-execguard-v2 -execguard $(BIN)/execguard -engine $(ENGINE)

# Go benchmarks, then the runtimes called directly, through a Go program that
# only execs them (the floor) and through the wrapper, as containerd and
# Podman call them (crun runs in a private mount namespace on a hybrid cgroup
# layout; execguard-bench sees to that itself); the wrapper's own cold work
# in front of a stand-in runtime; crictl exec through a private CRI-O. Last,
# under load: 500 execs per side over 20 containers, 20 in flight, through a
# private containerd to runc directly and through the wrapper. Then the shim:
# interactive execs against containerd's runc shim, under load, and a
# recorded terminal session's throughput against an unrecorded one.
bench: setup build
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./detect/ ./detect/eql/ ./detect/rules/ ./runtime/
	$(BIN)/execguard-bench -wrapper $(WRAPPER) -n 300
	$(BIN)/execguard-bench -wrapper $(WRAPPER) -cold -n 300
	$(BIN)/execguard-bench -wrapper $(WRAPPER) -crio
	$(BIN)/execguard-bench -wrapper $(WRAPPER) -shape podman -runtime runc
	$(BIN)/execguard-bench -wrapper $(WRAPPER) -shape podman -runtime crun
	$(BIN)/execguard-bench -wrapper $(WRAPPER) -shape containerd -runtime crun
	$(BIN)/execguard-bench -wrapper $(WRAPPER) -load
	$(BIN)/execguard-bench -shim $(BIN)/containerd-shim-execguard-v2
	$(BIN)/execguard-bench -load -shim $(BIN)/containerd-shim-execguard-v2
	$(BIN)/execguard-bench -tty -shim $(BIN)/containerd-shim-execguard-v2

clean:
	rm -rf $(BIN) .demo
