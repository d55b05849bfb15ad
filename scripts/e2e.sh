#!/usr/bin/env bash
# The QEMU end-to-end suite (make e2e): for each kernel base (6.12 and 7.2,
# see scripts/build-kernel.sh), boots out/kernel/BASE/bzImage with
# out/bin/netoopsctl in an initramfs, crashes it in many ways and checks what
# out/bin/catcher stored. Needs root for catcher capture. Results and every
# guest's console are under out/e2e/BASE/; each base's summary is
# out/e2e/BASE/summary.txt, and out/e2e/summary.txt has them all.
#
# Then a subset of the suite (E2E_DEBUG_RUN) on 7.2's debug kernel
# (out/kernel/7.2/bzImage-debug: lockdep, PROVE_RCU, DEBUG_ATOMIC_SLEEP,
# DEBUG_NET, KASAN), where a report of those checkers that names netoops
# fails the scenario and the kernel's own are logged (qemu/splat.go), into
# out/e2e/7.2-debug/.
#
# Environment: E2E_BASES (default "6.12 7.2"), E2E_RUN (a go test -run
# pattern), E2E_PARALLEL (guests at once, default 2), E2E_TIMEOUT (each
# base's suite, default 25m), E2E_DEBUG (0: no debug subset),
# E2E_DEBUG_RUN (its pattern; default E2E_RUN, or the crash path's
# scenarios). NETOOPS_E2E_KERNEL=path runs the suite
# once, on that kernel, into out/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/qemu-deps.sh

export NETOOPS_E2E_BUSYBOX
NETOOPS_E2E_BUSYBOX=$(qemu_deps)
export NETOOPS_E2E_REQUIRE=1
GO=${GO:-go}

# The scenarios the debug kernel runs: the crash path's, where lock, RCU
# and context checking has something to check. Not TestFaultInDump: its
# injected oopses kill a task inside netoops's RCU read-side section with
# interrupts off, which the checkers then report from the exit path (a
# consequence of the oops the scenario makes, not a bug of its own).
DEBUG_RUN_DEFAULT='^(TestSysrqPanic|TestTestDump|TestSMPPanicDuringTestDump|TestNMIPanic|TestNetconsoleBusy|TestOopsNoHang|TestShootdownDuringTestDump|TestNMIDuringTestDump|TestMultiQueue|TestStackedBond|TestStackedVLAN|TestShutdownDump|TestDownDevice)$'

# run_suite KERNEL CONFIG OUTDIR [RUN]: the suite (or the scenarios RUN
# matches) on one kernel.
run_suite() {
	local kernel=$1 config=$2 outdir=$3 run=${4:-${E2E_RUN:-}} opt rc
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
	[ -z "$run" ] || args+=(-run "$run")
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
if [ "${E2E_DEBUG:-1}" != 0 ] && [[ " ${E2E_BASES:-6.12 7.2} " == *" 7.2 "* ]]; then
	start=$(date +%s)
	NETOOPS_E2E_DEBUG=1 run_suite out/kernel/7.2/bzImage-debug out/kernel/7.2/config-debug \
		out/e2e/7.2-debug "${E2E_DEBUG_RUN:-${E2E_RUN:-$DEBUG_RUN_DEFAULT}}" || rc=1
	{
		echo "== Linux 7.2, debug kernel, a subset ($(( $(date +%s) - start ))s)"
		cat out/e2e/7.2-debug/summary.txt 2>/dev/null || echo "(no summary: the suite did not run)"
		echo
	} >>out/e2e/summary.txt
fi
echo
cat out/e2e/summary.txt
# One closing line for the whole run, both kernels.
awk '/scenarios: [0-9]+ passed/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^skipped/) s += $i } }
     END { printf "e2e: %d passed, %d failed, %d skipped\n", p, f, s }' out/e2e/summary.txt
exit "$rc"
