#!/usr/bin/env bash
# The QEMU end-to-end suite (make e2e): boots out/kernel/bzImage with
# out/bin/netoopsctl in an initramfs, crashes it in many ways and checks what
# out/bin/catcher stored. Needs root for catcher capture. Results and every
# guest's console are under out/e2e/; the summary is out/e2e/summary.txt.
#
# Environment: E2E_RUN (a go test -run pattern), E2E_PARALLEL (guests at
# once, default 2), E2E_TIMEOUT (whole suite, default 25m).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/qemu-deps.sh

export NETOOPS_E2E_BUSYBOX
NETOOPS_E2E_BUSYBOX=$(qemu_deps)
export NETOOPS_E2E_REQUIRE=1
GO=${GO:-go}

for f in "${NETOOPS_E2E_KERNEL:-out/kernel/bzImage}" out/bin/netoopsctl out/bin/catcher; do
	[ -e "$f" ] || { echo "e2e: $f is missing; run make kernel build" >&2; exit 1; }
done

# netoopsctl is a static Go binary: the guest kernel must let Go's runtime start.
if [ -f out/kernel/config ] && [ -z "${NETOOPS_E2E_KERNEL:-}" ]; then
	for opt in CONFIG_FUTEX CONFIG_EPOLL CONFIG_EVENTFD; do
		grep -q "^$opt=y" out/kernel/config ||
			echo "e2e: WARNING: out/kernel/config lacks $opt=y; netoopsctl (Go) cannot run in the guest (qemu/kernel.config, see qemu/README.md)" >&2
	done
fi

$GO vet -tags e2e ./qemu/...
mkdir -p out/e2e
args=(-tags e2e -count=1 -v -timeout "${E2E_TIMEOUT:-25m}" -parallel "${E2E_PARALLEL:-2}")
[ -z "${E2E_RUN:-}" ] || args+=(-run "$E2E_RUN")
set +e
$GO test "${args[@]}" ./qemu 2>&1 | tee out/e2e/test.log
rc=${PIPESTATUS[0]}
set -e
echo "e2e: full log out/e2e/test.log, summary out/e2e/summary.txt, consoles out/e2e/<scenario>/console.log"
exit "$rc"
