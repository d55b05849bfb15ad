#!/usr/bin/env bash
# Check the kernel series on both bases (see scripts/build-kernel.sh for
# the bases and the cache it works in). For each of 7.2 (patches/) and 6.12
# (patches/6.12/):
#
#   1. the committed series is what scripts/gen-patches.sh generates from
#      driver/ (the driver's one source) for that base;
#   2. every patch passes that base's scripts/checkpatch.pl --strict with
#      no errors, warnings or checks (the cover letter is not checked);
#   3. the series applies cleanly (no fuzz) to the pristine tree, and after
#      each patch the tree builds what that patch touches (drivers/net/
#      netoops.o with W=1 and sparse);
#   4. the whole series builds (make kernel), its final netoops.c and
#      netoops.rst are driver/'s, and drivers/net/netoops.o compiles
#      without a single warning with W=1 and with sparse (C=2), both built
#      in (NETOOPS=y) and as a module (NETOOPS=m, plus the module link and
#      modpost).
#
# Then PREEMPT_RT, which netoops refuses: against Debian's 6.12 -rt config
# (linux-config-6.12, config.amd64_rt_amd64), NETOOPS depends on
# !PREEMPT_RT in Kconfig, and compiling drivers/net/netoops.c anyway fails
# with netoops's own message.
#
# sparse is Debian sid's (7.2 needs a newer one than bookworm's), built from
# its source package into the cache with bookworm's gcc.
#
# Works from a clean clone as root: it installs what is missing and builds
# the kernels first if the cache is cold.
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
	# C=2 must really have run the checker on netoops.c.
	if [[ $flags == *C=2* ]] &&
	   { grep -q 'not available or not up to date' "$log" ||
	     ! grep -qE '^ +CHECK +.*drivers/net/netoops\.c' "$log"; }; then
		grep 'not available or not up to date' "$log" >&2 || true
		fail "$label: sparse did not run"
		rm -f "$log"
		return
	fi
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
			pass "$BASE checkpatch --strict $(basename "$p")"
		else
			printf '%s\n' "$out" >&2
			fail "$BASE checkpatch --strict $(basename "$p")"
		fi
	done
}

# Apply the series one patch at a time to a tree of its own and build what
# each patch touches.
check_each_patch() {
	local pristine=$1 tree=$BCACHE/step-tree bdir=$BCACHE/build-step i objs f
	shift
	local patches=("$@")

	mkdir -p "$bdir"
	for ((i = 1; i <= ${#patches[@]}; i++)); do
		local name
		name=$(basename "${patches[i - 1]}")
		if ! (make_tree "$pristine" "$tree" "${patches[@]:0:i}") >/dev/null; then
			fail "$BASE $name does not apply cleanly"
			return
		fi
		# The final configuration, minus what this step does not know.
		cp "$BCACHE/build-y/.config" "$bdir/.config"
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
			pass "$BASE $name applies (nothing to compile)"
			continue
		fi
		# W=1 and sparse only for netoops itself; the objects of other
		# files a patch touches must build.
		local plain=() ours=()
		for f in "${objs[@]}"; do
			if [[ $f == drivers/net/netoops.o ]]; then ours+=("$f"); else plain+=("$f"); fi
		done
		[[ ${#plain[@]} -eq 0 ]] ||
			build_objs "$BASE $name: ${plain[*]}" "$tree" "$bdir" "" "${plain[@]}"
		[[ ${#ours[@]} -eq 0 ]] ||
			build_objs "$BASE $name: ${ours[*]} W=1 C=2" "$tree" "$bdir" "W=1 C=2 CHECK=$SPARSE" "${ours[@]}"
	done
}

# The sparse to use: Debian sid's, built once into the cache.
build_sparse() {
	local src ver dir
	src=$("$REPO/scripts/debian-fetch.sh" --source sid sparse) ||
		die "cannot fetch sparse's source from Debian sid"
	ver=$(basename "$src")
	dir=$CACHE/tools/$ver
	if [[ ! -x $dir/sparse ]]; then
		say "building $ver"
		rm -rf "$dir.tmp"
		mkdir -p "$CACHE/tools"
		cp -a "$src" "$dir.tmp"
		make -s -C "$dir.tmp" -j"$JOBS" CC=gcc sparse >&2 ||
			die "building sparse ($ver) failed"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir/sparse"
}

check_base() {
	local pristine patches f want
	set_base "$1"
	pristine=$(pristine_tree)
	[[ ! -f $pristine/drivers/net/netoops.c ]] ||
		die "$pristine already contains netoops; check-patches needs a pristine tree"
	mapfile -t patches < <(series_patches)

	say "$BASE: the series is what driver/ generates"
	if "$REPO/scripts/gen-patches.sh" --check "$BASE" "$pristine"; then
		pass "$BASE: ${PATCHES#"$REPO"/} is generated from driver/"
	else
		fail "$BASE: ${PATCHES#"$REPO"/} is not what scripts/gen-patches.sh makes of driver/"
	fi

	say "$BASE: checkpatch --strict"
	check_checkpatch "$pristine" "${patches[@]}"

	say "$BASE: applying and building the series patch by patch"
	check_each_patch "$pristine" "${patches[@]}"

	say "$BASE: the series' final files are driver/'s"
	want=$(mktemp)
	"$REPO/scripts/gen-patches.sh" --driver "$BASE" >"$want"
	for f in drivers/net/netoops.c:"$want" \
		 Documentation/networking/netoops.rst:"$REPO/driver/netoops.rst"; do
		if cmp -s "$BCACHE/tree/${f%%:*}" "${f#*:}"; then
			pass "$BASE: ${f%%:*} is driver/'s"
		else
			diff -u "${f#*:}" "$BCACHE/tree/${f%%:*}" >&2 || true
			fail "$BASE: ${f%%:*} after the series differs from driver/"
		fi
	done
	rm -f "$want"

	say "$BASE: W=1 and sparse on the whole series"
	build_objs "$BASE NETOOPS=y drivers/net/netoops.o W=1 C=2" "$BCACHE/tree" \
		"$BCACHE/build-y" "W=1 C=2 CHECK=$SPARSE" drivers/net/netoops.o
	build_objs "$BASE NETOOPS=m drivers/net/netoops.o W=1 C=2" "$BCACHE/tree" \
		"$BCACHE/build-m" "W=1 C=2 CHECK=$SPARSE" drivers/net/netoops.o
	build_objs "$BASE NETOOPS=m modules W=1 (netoops.ko, modpost)" "$BCACHE/tree" \
		"$BCACHE/build-m" "W=1" modules

	# The kernel's htmldocs need sphinx; a docutils parse of the new
	# document catches most mistakes. Debian's python3-docutils is among
	# the dependencies build-kernel.sh installs.
	if /usr/bin/python3 -c 'import docutils' 2>/dev/null; then
		if /usr/bin/python3 - "$BCACHE/tree/Documentation/networking/netoops.rst" <<-'EOF'
		import io, sys, docutils.core
		err = io.StringIO()
		docutils.core.publish_doctree(open(sys.argv[1]).read(),
		    settings_overrides={"warning_stream": err, "report_level": 1})
		sys.stderr.write(err.getvalue())
		sys.exit(1 if err.getvalue() else 0)
		EOF
		then
			pass "$BASE: Documentation/networking/netoops.rst parses (docutils)"
		else
			fail "$BASE: Documentation/networking/netoops.rst: docutils reports problems"
		fi
	else
		fail "python3-docutils is missing: cannot check netoops.rst"
	fi
}

# PREEMPT_RT: Debian's 6.12 -rt configuration on the patched 6.12 tree.
# netoops refuses it, in Kconfig and (for out-of-tree builds) at compile
# time with a message of its own.
check_rt() {
	local cfg=/usr/src/linux-config-6.12/config.amd64_rt_amd64.xz
	local bdir stamp mod log
	set_base 6.12
	bdir=$BCACHE/build-rt
	[[ -f $cfg ]] || { fail "PREEMPT_RT: $cfg is missing (linux-config-6.12)"; return; }

	if awk '/^config NETOOPS$/{n=1; next} /^config /{n=0} n && /depends on/ && /!PREEMPT_RT/{f=1} END{exit !f}' \
		"$BCACHE/tree/drivers/net/Kconfig"; then
		pass "PREEMPT_RT: NETOOPS depends on !PREEMPT_RT"
	else
		fail "PREEMPT_RT: NETOOPS does not depend on !PREEMPT_RT in drivers/net/Kconfig"
	fi

	stamp="$(stat -c '%s %Y' "$cfg") $(cat "$BCACHE/tree/.netoops-key")"
	if [[ $(cat "$bdir/.netoops-rt" 2>/dev/null) != "$stamp" ]]; then
		say "PREEMPT_RT: preparing Debian's 6.12 -rt config (make modules_prepare)"
		rm -rf "$bdir"
		mkdir -p "$bdir"
		xz -dc "$cfg" >"$bdir/.config"
		# Debian's signing and trusted keys are not in the source tree.
		"$BCACHE/tree/scripts/config" --file "$bdir/.config" \
			--set-str SYSTEM_TRUSTED_KEYS "" --set-str SYSTEM_REVOCATION_KEYS "" \
			-d MODULE_SIG_ALL -d DEBUG_INFO_BTF
		make -s -C "$BCACHE/tree" O="$bdir" olddefconfig >/dev/null
		if ! make -s -C "$BCACHE/tree" O="$bdir" -j"$JOBS" modules_prepare >"$bdir/prepare.log" 2>&1; then
			cat "$bdir/prepare.log" >&2
			fail "PREEMPT_RT: make modules_prepare failed on Debian's -rt config"
			return
		fi
		echo "$stamp" >"$bdir/.netoops-rt"
	fi
	if ! grep -q '^CONFIG_PREEMPT_RT=y' "$bdir/.config"; then
		fail "PREEMPT_RT: $cfg does not enable PREEMPT_RT"
		return
	fi
	if grep -q '^CONFIG_NETOOPS=' "$bdir/.config"; then
		fail "PREEMPT_RT: the -rt config has NETOOPS set"
	fi

	mod=$(mktemp -d)
	log=$mod/build.log
	cp "$BCACHE/tree/drivers/net/netoops.c" "$mod/"
	echo 'obj-m := netoops.o' >"$mod/Kbuild"
	if make -C "$BCACHE/tree" O="$bdir" M="$mod" KBUILD_MODPOST_WARN=1 modules >"$log" 2>&1; then
		fail "PREEMPT_RT: netoops.c compiled for PREEMPT_RT; it must refuse"
	elif grep -q 'error: #error "netoops does not support PREEMPT_RT' "$log"; then
		pass "PREEMPT_RT: netoops.c refuses to build, with its message"
	else
		cat "$log" >&2
		fail "PREEMPT_RT: netoops.c failed to build for another reason"
	fi
	rm -rf "$mod"
}

check_main() {
	local start b
	start=$(date +%s)

	say "building the kernels (a no-op if the cache is warm)"
	"$REPO/scripts/build-kernel.sh"

	install_deps
	DEPS_EXTRA=(dpkg-dev linux-config-6.12)
	[[ -f /usr/src/linux-config-6.12/config.amd64_rt_amd64.xz && -x /usr/bin/dpkg-source ]] || {
		say "installing ${DEPS_EXTRA[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${DEPS_EXTRA[@]}" >&2 ||
			{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${DEPS_EXTRA[@]}" >&2; }
	}
	lock_cache
	SPARSE=$(build_sparse)

	for b in "${BASES[@]}"; do
		check_base "$b"
	done
	check_rt

	if [[ ${#FAILED[@]} -gt 0 ]]; then
		printf 'check-patches: %d check(s) failed:\n' "${#FAILED[@]}" >&2
		printf '  %s\n' "${FAILED[@]}" >&2
		exit 1
	fi
	say "all checks passed in $(( $(date +%s) - start ))s"
}

check_main "$@"
