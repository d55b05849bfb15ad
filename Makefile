# netoops: see README.md. Every target works from a clean clone as root.
SHELL := /bin/bash
GO ?= go
export CGO_ENABLED := 0
BIN := out/bin
CMDS := $(notdir $(wildcard cmd/*))
GOFLAGS_BUILD := -trimpath -ldflags='-s -w'

.PHONY: all build test vet unit fuzz-seed browser-test check-patches kernel e2e demo bench clean deb deb-test stock-e2e

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: run gofmt -w on the files above"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags browser ./internal/catcher/web

unit:
	$(GO) test -count=1 ./...

# A short run of every fuzz target on top of its committed corpus.
fuzz-seed:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=10s ./pkg/wire
	$(GO) test -run='^$$' -fuzz='^FuzzReceive$$' -fuzztime=10s ./internal/catcher/reassembly

test: vet unit fuzz-seed browser-test check-patches e2e stock-e2e

# The catcher's crash pages in headless chromium (installed if missing,
# as root); screenshots in out/web/. See scripts/browser-test.sh.
browser-test:
	GO=$(GO) scripts/browser-test.sh

# Linux 6.12 (patches/6.12/) and 7.2 (patches/) with the series applied, as
# root: out/kernel/BASE/bzImage (NETOOPS=y) and netoops.ko; cached, see
# scripts/build-kernel.sh.
kernel:
	scripts/build-kernel.sh

# The kernel series on both bases: generated from driver/, checkpatch
# --strict, each patch applies and builds, W=1 and sparse clean built in and
# as a module; PREEMPT_RT refused (Debian's 6.12 -rt config).
check-patches:
	scripts/check-patches.sh

# The QEMU end-to-end suite (qemu/, scripts/e2e.sh) on both kernels, as root;
# see out/e2e/summary.txt.
e2e: kernel build
	scripts/e2e.sh

# Debian packages netoops (tools) and netoops-dkms (the module's source)
# into out/deb/, versions from git (scripts/mkdeb.sh).
deb: build
	scripts/mkdeb.sh

# As root: lintian on the packages, then on clean debootstrap'd roots of
# Debian 12, 13 and sid (cached), each with its newest kernel: install with
# apt, DKMS builds and signs the module, remove; and what the stock-kernel
# QEMU suite boots, in out/stock/ (scripts/stock-kernels.sh).
deb-test: deb
	scripts/deb-lint.sh
	scripts/stock-kernels.sh

# As root: the QEMU suite on Debian's own 6.1, 6.12 and 7.2 kernels with the
# DKMS-built module; see out/stock-e2e/summary.txt (scripts/stock-e2e.sh).
stock-e2e: deb-test
	scripts/stock-e2e.sh

# From a fresh clone, as root: install, build, boot a guest, crash it, show the dump.
demo:
	scripts/demo.sh

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./pkg/...

clean:
	rm -rf out
