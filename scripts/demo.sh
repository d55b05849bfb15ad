#!/usr/bin/env bash
# make demo: from a fresh clone, as root on Debian 12 - install what is
# missing, build the patched kernel and the tools, boot a QEMU guest,
# configure it with `netoopsctl set 10.0.2.2:PORT`, crash it, and show the
# dump the catcher stored. The kernel build is cached (scripts/build-kernel.sh),
# so a second run takes well under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
phase() { printf '\n\033[1m==> [%3ds] %s\033[0m\n' $((SECONDS - start)) "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it installs packages and uses QEMU)" >&2
	exit 1
fi
GO=${GO:-go}
command -v "$GO" >/dev/null || { echo "demo: Go (1.26 or later) is needed to build the tools" >&2; exit 1; }

phase "checking QEMU and busybox (apt-get install when missing)"
. scripts/qemu-deps.sh
busybox=$(qemu_deps)
echo "qemu: $(command -v qemu-system-x86_64), busybox: $busybox"

phase "building the kernel (make kernel: Linux 6.12 + patches/, cached after the first run)"
make --no-print-directory kernel

phase "building the tools (make build)"
make --no-print-directory build

phase "booting a guest, configuring netoops, crashing it"
$GO build -o out/demo/demo ./qemu/demo
out/demo/demo -busybox "$busybox"

phase "done in $((SECONDS - start)) s"
