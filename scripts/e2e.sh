#!/usr/bin/env bash
# The QEMU end-to-end suite (make e2e): for each kernel base (6.12 and 7.2,
# see scripts/build-kernel.sh), boots out/kernel/BASE/bzImage with
# out/bin/netoopsctl in an initramfs, crashes it in many ways and checks what
# out/bin/catcher stored. Needs root for catcher capture. Results and every
# guest's console are under out/e2e/BASE/; each base's summary is
# out/e2e/BASE/summary.txt, and out/e2e/summary.txt has them all.
#
# Environment: E2E_BASES (default "6.12 7.2"), E2E_RUN (a go test -run
# pattern), E2E_PARALLEL (guests at once, default 2), E2E_TIMEOUT (each
# base's suite, default 25m). NETOOPS_E2E_KERNEL=path runs the suite once,
# on that kernel, into out/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/qemu-deps.sh

export NETOOPS_E2E_BUSYBOX
NETOOPS_E2E_BUSYBOX=$(qemu_deps)
export NETOOPS_E2E_REQUIRE=1
GO=${GO:-go}

# run_suite KERNEL CONFIG OUTDIR: the whole suite on one kernel.
run_suite() {
	local kernel=$1 config=$2 outdir=$3 opt rc
	for f in "$kernel" out/bin/netoopsctl out/bin/catcher; do
		[ -e "$f" ] || { echo "e2e: $f is missing; run make kernel build" >&2; return 1; }
	done
	# netoopsctl is a static Go binary: the guest kernel must let Go's runtime start.
	if [ -n "$config" ] && [ -f "$config" ]; then
		for opt in CONFIG_FUTEX CONFIG_EPOLL CONFIG_EVENTFD; do
			grep -q "^$opt=y" "$config" ||
				echo "e2e: WARNING: $config lacks $opt=y; netoopsctl (Go) cannot run in the guest (qemu/kernel.config, see qemu/README.md)" >&2
		done
	fi
	mkdir -p "$outdir"
	local args=(-tags e2e -count=1 -v -timeout "${E2E_TIMEOUT:-25m}" -parallel "${E2E_PARALLEL:-2}")
	[ -z "${E2E_RUN:-}" ] || args+=(-run "$E2E_RUN")
	set +e
	NETOOPS_E2E_KERNEL=$(realpath "$kernel") NETOOPS_E2E_OUT=$PWD/$outdir \
		$GO test "${args[@]}" ./qemu 2>&1 | tee "$outdir/test.log"
	rc=${PIPESTATUS[0]}
	set -e
	echo "e2e: $kernel: full log $outdir/test.log, summary $outdir/summary.txt, consoles $outdir/<scenario>/console.log"
	return "$rc"
}

$GO vet -tags e2e ./qemu/...
mkdir -p out/e2e
if [ -n "${NETOOPS_E2E_KERNEL:-}" ]; then
	run_suite "$NETOOPS_E2E_KERNEL" "" out/e2e
	exit
fi

rc=0
: >out/e2e/summary.txt
for base in ${E2E_BASES:-6.12 7.2}; do
	start=$(date +%s)
	run_suite "out/kernel/$base/bzImage" "out/kernel/$base/config" "out/e2e/$base" || rc=1
	{
		echo "== Linux $base ($(( $(date +%s) - start ))s)"
		cat "out/e2e/$base/summary.txt" 2>/dev/null || echo "(no summary: the suite did not run)"
		echo
	} >>out/e2e/summary.txt
done
echo
cat out/e2e/summary.txt
# One closing line for the whole run, both kernels.
awk '/scenarios: [0-9]+ passed/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^skipped/) s += $i } }
     END { printf "e2e: %d passed, %d failed, %d skipped\n", p, f, s }' out/e2e/summary.txt
exit "$rc"
