#!/usr/bin/env bash
# make stock-e2e: the QEMU suite on Debian's own kernels, with netoops as
# the module DKMS built for each (scripts/stock-kernels.sh, out/stock/).
# For every kernel in out/stock/kernels it runs the scenarios below of the
# built-in suite, unchanged, plus the module's own (qemu/e2e_stock_test.go),
# with results under out/stock-e2e/KERNEL/ (summary.txt per kernel) and the
# whole table in out/stock-e2e/summary.txt.
#
# Environment: STOCK_E2E_RUN (a go test -run pattern, default the list
# below), E2E_PARALLEL (guests at once, default 2), E2E_TIMEOUT (per
# kernel, default 20m), NETOOPS_E2E_QEMU_CPU (default qemu64,-tsc).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/qemu-deps.sh
export NETOOPS_E2E_BUSYBOX
NETOOPS_E2E_BUSYBOX=$(qemu_deps)
export NETOOPS_E2E_REQUIRE=1
# Debian's kernels calibrate the TSC at boot; under TCG on a loaded host
# that can go wrong and the guest's clock races ahead (a boot's log jumped
# by 166 s, and netoopsctl's 3 s ARP wait ended at once). Without a TSC the
# kernel keeps time with the HPET.
export NETOOPS_E2E_QEMU_CPU=${NETOOPS_E2E_QEMU_CPU-qemu64,-tsc}
GO=${GO:-go}
RUN=${STOCK_E2E_RUN:-'^(TestSysrqPanic|TestOopsThenPanic|TestTestDump|TestIPv6|TestFollow|TestLoss|TestStockModule|TestStockSecureBoot)$'}

[[ -f out/stock/kernels ]] || { echo "stock-e2e: out/stock/kernels is missing: run make deb-test" >&2; exit 1; }
mapfile -t kernels <out/stock/kernels
[[ ${#kernels[@]} -gt 0 ]] || { echo "stock-e2e: no kernels in out/stock/kernels" >&2; exit 1; }
for f in out/bin/netoopsctl out/bin/catcher; do
	[[ -x $f ]] || { echo "stock-e2e: $f is missing: run make build" >&2; exit 1; }
done

has_modversions() { if grep -q '^CONFIG_MODVERSIONS=y' "$1/config"; then echo 1; else echo 0; fi; }

$GO vet -tags e2e,stock ./qemu/...
rm -rf out/stock-e2e
mkdir -p out/stock-e2e
rc=0
for i in "${!kernels[@]}"; do
	k=${kernels[$i]}
	d=out/stock/$k
	mods=()
	while read -r m; do mods+=("$PWD/$d/$m"); done <"$d/modules"
	modversions=$(has_modversions "$d")
	# The foreign module: another kernel's, preferably one as MODVERSIONS
	# as this one (then the kernel's symbol version check is what refuses
	# it; a module without versions would only taint and hit the vermagic).
	other=
	for o in "${kernels[@]}"; do
		[[ $o != "$k" ]] || continue
		[[ -n $other ]] || other=$o
		if [[ $(has_modversions "out/stock/$o") == "$modversions" ]]; then other=$o; break; fi
	done
	[[ -n $other ]] || { echo "stock-e2e: need two kernels for the foreign-module check" >&2; exit 1; }
	echo "==> stock-e2e: $k ($(sed -n 's/^suite: *//p' "$d/info.txt")), foreign module from $other"
	start=$(date +%s)
	set +e
	NETOOPS_E2E_KERNEL=$PWD/$d/vmlinuz \
	NETOOPS_E2E_MODULES="${mods[*]}" \
	NETOOPS_E2E_OUT=$PWD/out/stock-e2e/$k \
	NETOOPS_E2E_RELEASE=$k \
	NETOOPS_E2E_MODULE_VERSION=$(sed -n 's/^netoops: *//p' "$d/info.txt") \
	NETOOPS_E2E_FOREIGN_MODULE=$PWD/out/stock/$other/netoops.ko \
	NETOOPS_E2E_MODVERSIONS=$modversions \
	NETOOPS_E2E_SB_DIR=$PWD/out/stock/sb \
	NETOOPS_E2E_SB_VARS=$PWD/$d/OVMF_VARS.fd \
	$GO test -tags e2e,stock -count=1 -v -timeout "${E2E_TIMEOUT:-20m}" -parallel "${E2E_PARALLEL:-2}" \
		-run "$RUN" ./qemu >"out/stock-e2e/$k.log" 2>&1
	r=$?
	set -e
	echo "    $(( $(date +%s) - start ))s, exit $r: out/stock-e2e/$k.log"
	[[ $r -eq 0 ]] || { rc=1; grep -E '^\s*(--- FAIL|.*_test.go:[0-9]+:)' "out/stock-e2e/$k.log" | head -n 30 >&2 || true; }
	{ echo "== $k"; cat "out/stock-e2e/$k/summary.txt" 2>/dev/null || echo "(no summary)"; echo; } >>out/stock-e2e/summary.txt
done
cat out/stock-e2e/summary.txt
exit "$rc"
