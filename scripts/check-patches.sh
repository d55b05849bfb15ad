#!/usr/bin/env bash
# Check the kernel series in patches/ (see scripts/build-kernel.sh for the
# cache it works in):
#
#   1. every patch passes scripts/checkpatch.pl --strict with no errors,
#      warnings or checks (the cover letter is not checked);
#   2. the series applies cleanly (no fuzz) to the pristine tree, and after
#      each patch the tree builds what that patch touches (drivers/net/
#      netoops.o with W=1 and sparse);
#   3. the whole series builds (make kernel), and drivers/net/netoops.o
#      compiles without a single warning with W=1 and with sparse (C=2),
#      both built in (NETOOPS=y) and as a module (NETOOPS=m, plus the
#      module link and modpost).
#
# Works from a clean clone as root: it installs what is missing and builds
# the kernel first if the cache is cold.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=build-kernel.sh
source "$REPO/scripts/build-kernel.sh"

FAILED=()
fail() { printf 'FAIL: %s\n' "$*" >&2; FAILED+=("$*"); }
pass() { printf 'ok:   %s\n' "$*" >&2; }

# Diagnostics in a build log. With "all", every gcc or sparse warning or
# error counts (used when only netoops is compiled, since a warning can be
# reported at a line of a header it includes); otherwise only those at a
# line of a file the series touches. modpost complaints about netoops count
# in both cases.
netoops_diags() {
	local mode=$1 log=$2
	if [[ $mode == all ]]; then
		grep -E ':[0-9]+:([0-9]+:)? (warning|error):|(WARNING|ERROR).*netoops|netoops.*(WARNING|ERROR)' "$log" || true
	else
		grep -E '(^|/)(drivers/net/netoops|kernel/printk/printk)\.[ch]:[0-9]+:.*(warning|error)|(WARNING|ERROR).*netoops|netoops.*(WARNING|ERROR)' "$log" || true
	fi
}

# build_objs LABEL TREE BUILDDIR FLAGS OBJ...: make the objects, fail on a
# make error or on a diagnostic (see netoops_diags; "all" when FLAGS has
# W=1, that is for netoops itself).
build_objs() {
	local label=$1 tree=$2 bdir=$3 flags=$4 log diags mode=ours
	shift 4
	[[ $flags == *W=1* ]] && mode=all
	log=$(mktemp)
	# shellcheck disable=SC2086
	if ! make -C "$tree" O="$bdir" -j"$JOBS" $flags "$@" >"$log" 2>&1; then
		cat "$log" >&2
		fail "$label: build failed"
		rm -f "$log"
		return
	fi
	diags=$(netoops_diags "$mode" "$log")
	if [[ -n $diags ]]; then
		printf '%s\n' "$diags" >&2
		fail "$label: warnings"
	else
		pass "$label"
	fi
	rm -f "$log"
}

check_checkpatch() {
	local pristine=$1 p out
	shift
	for p in "$@"; do
		out=$(cd "$pristine" && perl scripts/checkpatch.pl --strict --color=never "$p" 2>&1 || true)
		if grep -q '^total: 0 errors, 0 warnings, 0 checks' <<<"$out"; then
			pass "checkpatch --strict $(basename "$p")"
		else
			printf '%s\n' "$out" >&2
			fail "checkpatch --strict $(basename "$p")"
		fi
	done
}

# Apply the series one patch at a time to a tree of its own and build what
# each patch touches.
check_each_patch() {
	local pristine=$1 tree=$CACHE/step-tree bdir=$CACHE/build-step i objs f
	shift
	local patches=("$@")

	mkdir -p "$bdir"
	for ((i = 1; i <= ${#patches[@]}; i++)); do
		local name
		name=$(basename "${patches[i - 1]}")
		if ! (make_tree "$pristine" "$tree" "${patches[@]:0:i}") >/dev/null; then
			fail "$name does not apply cleanly"
			return
		fi
		# The final configuration, minus what this step does not know.
		cp "$CACHE/build-y/.config" "$bdir/.config"
		make -s -C "$tree" O="$bdir" olddefconfig >/dev/null

		objs=()
		while read -r f; do
			[[ $f == *.c && -f $tree/$f ]] && objs+=("${f%.c}.o")
		done < <(touched_files "${patches[i - 1]}")
		if [[ -f $tree/drivers/net/netoops.c ]] &&
		   grep -q '^CONFIG_NETOOPS=y' "$bdir/.config"; then
			objs+=(drivers/net/netoops.o)
		fi
		mapfile -t objs < <(printf '%s\n' "${objs[@]}" | sort -u)
		if [[ ${#objs[@]} -eq 0 ]]; then
			pass "$name applies (nothing to compile)"
			continue
		fi
		# W=1 and sparse only for netoops itself; the objects of other
		# files a patch touches must build.
		local plain=() ours=()
		for f in "${objs[@]}"; do
			if [[ $f == drivers/net/netoops.o ]]; then ours+=("$f"); else plain+=("$f"); fi
		done
		[[ ${#plain[@]} -eq 0 ]] ||
			build_objs "$name: ${plain[*]}" "$tree" "$bdir" "" "${plain[@]}"
		[[ ${#ours[@]} -eq 0 ]] ||
			build_objs "$name: ${ours[*]} W=1 C=2" "$tree" "$bdir" "W=1 C=2" "${ours[@]}"
	done
}

check_main() {
	local pristine start patches
	start=$(date +%s)

	say "building the kernel (a no-op if the cache is warm)"
	"$REPO/scripts/build-kernel.sh"

	install_deps
	lock_cache
	pristine=$(pristine_tree)
	[[ ! -f $pristine/drivers/net/netoops.c ]] ||
		die "$pristine already contains netoops; check-patches needs a pristine tree"
	mapfile -t patches < <(series_patches)

	say "checkpatch --strict"
	check_checkpatch "$pristine" "${patches[@]}"

	say "applying and building the series patch by patch"
	check_each_patch "$pristine" "${patches[@]}"

	say "the series' final files are driver/'s"
	local f
	for f in drivers/net/netoops.c:netoops.c \
		 Documentation/networking/netoops.rst:netoops.rst; do
		if cmp -s "$CACHE/tree/${f%%:*}" "$REPO/driver/${f#*:}"; then
			pass "${f%%:*} is driver/${f#*:}"
		else
			diff -u "$REPO/driver/${f#*:}" "$CACHE/tree/${f%%:*}" >&2 || true
			fail "${f%%:*} after the series differs from driver/${f#*:}"
		fi
	done

	say "W=1 and sparse on the whole series"
	build_objs "NETOOPS=y drivers/net/netoops.o W=1 C=2" "$CACHE/tree" \
		"$CACHE/build-y" "W=1 C=2" drivers/net/netoops.o
	build_objs "NETOOPS=m drivers/net/netoops.o W=1 C=2" "$CACHE/tree" \
		"$CACHE/build-m" "W=1 C=2" drivers/net/netoops.o
	build_objs "NETOOPS=m modules W=1 (netoops.ko, modpost)" "$CACHE/tree" \
		"$CACHE/build-m" "W=1" modules

	# The kernel's htmldocs need sphinx; a docutils parse of the new
	# document catches most mistakes. Debian's python3-docutils is among
	# the dependencies build-kernel.sh installs.
	if /usr/bin/python3 -c 'import docutils' 2>/dev/null; then
		if /usr/bin/python3 - "$CACHE/tree/Documentation/networking/netoops.rst" <<-'EOF'
		import io, sys, docutils.core
		err = io.StringIO()
		docutils.core.publish_doctree(open(sys.argv[1]).read(),
		    settings_overrides={"warning_stream": err, "report_level": 1})
		sys.stderr.write(err.getvalue())
		sys.exit(1 if err.getvalue() else 0)
		EOF
		then
			pass "Documentation/networking/netoops.rst parses (docutils)"
		else
			fail "Documentation/networking/netoops.rst: docutils reports problems"
		fi
	else
		fail "python3-docutils is missing: cannot check netoops.rst"
	fi

	if [[ ${#FAILED[@]} -gt 0 ]]; then
		printf 'check-patches: %d check(s) failed:\n' "${#FAILED[@]}" >&2
		printf '  %s\n' "${FAILED[@]}" >&2
		exit 1
	fi
	say "all checks passed in $(( $(date +%s) - start ))s"
}

check_main "$@"
