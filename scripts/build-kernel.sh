#!/usr/bin/env bash
# Build the netoops test kernels: the series in patches/ applied to each
# base, from `make tinyconfig` plus qemu/kernel.config:
#
#   7.2   mainline: Debian sid's linux-source-7.2 (scripts/debian-fetch.sh,
#         never installed), series patches/series
#   6.12  LTS: Debian bookworm's linux-source-6.12 (apt), series
#         patches/6.12/series
#
# Results, per base:
#   out/kernel/BASE/bzImage     NETOOPS=y kernel for QEMU
#   out/kernel/BASE/netoops.ko  netoops built as a module (NETOOPS=m build)
#   out/kernel/BASE/config      the .config of the bzImage
# and out/kernel/{bzImage,netoops.ko,config} link to 6.12's.
#
# Everything else lives in a cache outside the repository:
#   ${NETOOPS_CACHE:-/var/cache/netoops} (root) or ~/.cache/netoops,
#   one directory per base:
#     BASE/linux-source/   pristine unpacked tree, never modified
#     BASE/tree/           build source: hard links to the pristine tree,
#                          files touched by the series are real copies
#     BASE/build-y/, BASE/build-m/   out-of-tree build directories
#                          (NETOOPS=y / =m; build-m builds the module only)
#     BASE/artifacts/      results of the last build, and its key
#
# A build is keyed by a hash of its series, the patches it lists,
# qemu/kernel.config, this script and the source tarball's identity; with
# an unchanged key the cached results are copied out and nothing is built.
#
# Usage: scripts/build-kernel.sh [--base 6.12|7.2|all] [--setup-only] [--force]
#   --base        which base (default all: both)
#   --setup-only  install dependencies and unpack the pristine tree (its path
#                 is printed), no build
#   --force       rebuild even if the key did not change
#   KERNEL_SRC=path builds one base (--base) from that tree instead.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $(id -u) -eq 0 ]]; then
	CACHE=${NETOOPS_CACHE:-/var/cache/netoops}
else
	CACHE=${NETOOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netoops}
fi
OUT_ROOT=$REPO/out/kernel
FRAGMENT=$REPO/qemu/kernel.config
BASES=(6.12 7.2)
JOBS=$(nproc)

# set_base BASE: the per-base variables every function below uses.
set_base() {
	BASE=$1
	case $BASE in
	6.12)
		PATCHES=$REPO/patches/6.12
		DEB_PKG=linux-source-6.12
		;;
	7.2)
		PATCHES=$REPO/patches
		DEB_PKG=
		;;
	*) die "unknown base $BASE (6.12 or 7.2)" ;;
	esac
	BCACHE=$CACHE/$BASE
	OUT=$OUT_ROOT/$BASE
}

# The source tarball of BASE (downloads 7.2 from sid into the cache).
base_tarball() {
	local d
	case $BASE in
	6.12) echo /usr/src/linux-source-6.12.tar.xz ;;
	7.2)
		d=$("$REPO/scripts/debian-fetch.sh" sid linux-source-7.2) ||
			die "cannot fetch linux-source-7.2 from Debian sid"
		echo "$d/usr/src/linux-source-7.2.tar.xz"
		;;
	esac
}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-kernel: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Dependencies

# command or file -> Debian package
declare -A DEPS=(
	[gcc]=gcc [make]=make [flex]=flex [bison]=bison [bc]=bc [cpio]=cpio
	[perl]=perl [sparse]=sparse [xz]=xz-utils [git]=git [patch]=patch
	[flock]=util-linux
	[/usr/include/libelf.h]=libelf-dev
	[/usr/include/openssl/ssl.h]=libssl-dev
	[qemu-system-x86_64]=qemu-system-x86
	[/bin/busybox]=busybox-static
	[/usr/lib/python3/dist-packages/docutils]=python3-docutils
)

install_deps() {
	local missing=() want
	for want in "${!DEPS[@]}"; do
		if [[ $want == /* ]]; then
			[[ -e $want ]] && continue
		else
			command -v "$want" >/dev/null && continue
		fi
		missing+=("${DEPS[$want]}")
	done
	if [[ -z ${KERNEL_SRC:-} && ! -f /usr/src/linux-source-6.12.tar.xz ]]; then
		missing+=(linux-source-6.12)
	fi
	[[ ${#missing[@]} -eq 0 ]] && return 0

	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	[[ $(id -u) -eq 0 ]] || die "missing packages (run as root to install): ${missing[*]}"
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
		apt-get update
		apt-get install -y --no-install-recommends "${missing[@]}"
	fi
}

# ---------------------------------------------------------------------------
# Source trees

# Prints the pristine tree to build from, unpacking Debian's tarball if needed.
pristine_tree() {
	if [[ -n ${KERNEL_SRC:-} ]]; then
		[[ -f $KERNEL_SRC/Makefile && -d $KERNEL_SRC/kernel ]] ||
			die "KERNEL_SRC=$KERNEL_SRC is not a kernel tree"
		(cd "$KERNEL_SRC" && pwd)
		return
	fi

	local dir=$BCACHE/linux-source stamp tarball
	tarball=$(base_tarball)
	[[ -f $tarball ]] || die "no $tarball"
	stamp="$(basename "$tarball") $(stat -c '%s %Y' "$tarball")"
	if [[ ! -f $dir/.netoops-pristine || $(cat "$dir/.netoops-pristine") != "$stamp" ]]; then
		say "unpacking $tarball into $BCACHE"
		rm -rf "$dir" "$BCACHE/unpack.tmp" "$BCACHE/tree"
		mkdir -p "$BCACHE/unpack.tmp"
		tar -C "$BCACHE/unpack.tmp" -xf "$tarball"
		mv "$BCACHE/unpack.tmp/linux-source-$BASE" "$dir"
		rmdir "$BCACHE/unpack.tmp"
		echo "$stamp" >"$dir/.netoops-pristine"
	fi
	echo "$dir"
}

# The patches of the series, in order, as absolute paths.
series_patches() {
	local p
	[[ -f $PATCHES/series ]] || die "no $PATCHES/series"
	while read -r p; do
		[[ -z $p || $p == \#* ]] && continue
		[[ -f $PATCHES/$p ]] || die "series lists missing patch $p"
		echo "$PATCHES/$p"
	done <"$PATCHES/series"
}

# Files a list of patches touches (both sides of every diff).
touched_files() {
	sed -n -e 's|^--- a/||p' -e 's|^+++ b/||p' "$@" | sort -u
}

# make_tree PRISTINE TREE PATCH...: make TREE the pristine tree plus the
# given patches. TREE shares files with PRISTINE through hard links; every
# file a patch touches (now or in the previous run) is a private copy with a
# new mtime, so kbuild rebuilds exactly what changed.
make_tree() {
	local pristine=$1 tree=$2 f
	shift 2

	if [[ ! -f $tree/.netoops-tree || $(cat "$tree/.netoops-tree") != "$pristine" ]]; then
		say "linking $tree to $pristine"
		rm -rf "$tree"
		cp -al "$pristine" "$tree.tmp"
		rm -f "$tree.tmp/.netoops-pristine" "$tree.tmp/.netoops-applied" \
			"$tree.tmp/.netoops-key"
		mv "$tree.tmp" "$tree"
		: >"$tree/.netoops-applied"
		echo "$pristine" >"$tree/.netoops-tree"
	fi

	{ cat "$tree/.netoops-applied"; if [[ $# -gt 0 ]]; then touched_files "$@"; fi; } |
	sort -u | while read -r f; do
		if [[ -f $pristine/$f ]]; then
			cp --remove-destination "$pristine/$f" "$tree/$f"
		else
			rm -f "$tree/$f"
		fi
	done
	: >"$tree/.netoops-applied"
	rm -f "$tree/.netoops-key"

	if [[ $# -gt 0 ]]; then
		touched_files "$@" >"$tree/.netoops-applied"
		for f in "$@"; do
			patch -d "$tree" -p1 -F0 -N -s --no-backup-if-mismatch -i "$f" ||
				die "$(basename "$f") does not apply cleanly to $pristine"
		done
	fi
}

# ---------------------------------------------------------------------------
# Build

# configure TREE BUILDDIR NETOOPS(y|m): tinyconfig + fragment.
configure() {
	local tree=$1 bdir=$2 netoops=$3 sym val got bad=0
	mkdir -p "$bdir"
	make -s -C "$tree" O="$bdir" tinyconfig >/dev/null
	sed "s/^CONFIG_NETOOPS=.*/CONFIG_NETOOPS=$netoops/" "$FRAGMENT" >"$bdir/netoops.fragment"
	(cd "$tree" && scripts/kconfig/merge_config.sh -m -O "$bdir" \
		"$bdir/.config" "$bdir/netoops.fragment" >/dev/null)
	make -s -C "$tree" O="$bdir" olddefconfig
	# Every symbol of the fragment must have survived olddefconfig.
	while IFS='=' read -r sym val; do
		[[ $sym == CONFIG_* ]] || continue
		got=$(grep -E "^$sym=|^# $sym is not set" "$bdir/.config" || true)
		if [[ $got != "$sym=$val" && !($val == n && $got == "# $sym is not set") ]]; then
			echo "build-kernel: $sym=$val requested, got '${got:-nothing}'" >&2
			bad=1
		fi
	done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$bdir/netoops.fragment")
	[[ $bad -eq 0 ]] || die "qemu/kernel.config does not apply cleanly"
}

build_key() {
	local pristine=$1
	{
		echo "base $BASE pristine $pristine $(cat "$pristine/.netoops-pristine" 2>/dev/null || stat -c %Y "$pristine/Makefile")"
		sha256sum "${BASH_SOURCE[0]}" "$FRAGMENT" "$PATCHES/series" | cut -d' ' -f1
		series_patches | xargs -r sha256sum | cut -d' ' -f1
	} | sha256sum | cut -d' ' -f1
}

copy_out() {
	local f
	mkdir -p "$OUT"
	cp "$BCACHE/artifacts/bzImage" "$BCACHE/artifacts/netoops.ko" \
		"$BCACHE/artifacts/config" "$OUT/"
	if [[ $BASE == 6.12 ]]; then
		for f in bzImage netoops.ko config; do
			ln -sfn "6.12/$f" "$OUT_ROOT/$f"
		done
	fi
}

lock_cache() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/lock"
	flock -w 3600 9 || die "cannot lock $CACHE/lock"
}

# build_base: build (or copy out from the cache) the current base.
build_base() {
	local pristine tree key start
	start=$(date +%s)

	pristine=$(pristine_tree)
	tree=$BCACHE/tree
	if [[ -f $pristine/drivers/net/netoops.c ]]; then
		say "$pristine already has netoops, building it as it is"
		tree=$pristine
	fi

	if [[ $SETUP_ONLY -eq 1 ]]; then
		echo "$pristine"
		return
	fi

	key=$(build_key "$pristine")
	if [[ $FORCE -eq 0 && -f $BCACHE/artifacts/key &&
	      $(cat "$BCACHE/artifacts/key") == "$key" &&
	      ( $tree == "$pristine" || $(cat "$tree/.netoops-key" 2>/dev/null) == "$key" ) &&
	      -f $BCACHE/build-y/.config && -f $BCACHE/build-m/.config ]]; then
		copy_out
		say "$BASE kernel is up to date (key ${key:0:12}), copied to ${OUT#"$REPO"/}"
		return
	fi

	if [[ $tree != "$pristine" ]]; then
		mapfile -t patches < <(series_patches)
		say "applying ${#patches[@]} patches to $tree"
		make_tree "$pristine" "$tree" "${patches[@]}"
		echo "$key" >"$tree/.netoops-key"
	fi
	rm -f "$BCACHE/artifacts/key"

	say "$BASE: configuring build-y (NETOOPS=y)"
	configure "$tree" "$BCACHE/build-y" y
	say "$BASE: building bzImage with make -j$JOBS"
	make -C "$tree" O="$BCACHE/build-y" -j"$JOBS" bzImage

	say "$BASE: configuring build-m (NETOOPS=m)"
	configure "$tree" "$BCACHE/build-m" m
	# modpost checks the module's imports against vmlinux.o. The two
	# configurations differ in NETOOPS only, and netoops exports nothing,
	# so build-m borrows the vmlinux.o of build-y instead of building its
	# own; it builds only the module.
	if ! diff <(grep -v NETOOPS "$BCACHE/build-y/.config") \
		  <(grep -v NETOOPS "$BCACHE/build-m/.config") >/dev/null; then
		die "build-y and build-m configurations differ in more than NETOOPS"
	fi
	ln -sfn "$BCACHE/build-y/vmlinux.o" "$BCACHE/build-m/vmlinux.o"
	say "$BASE: building modules (NETOOPS=m) with make -j$JOBS"
	make -C "$tree" O="$BCACHE/build-m" -j"$JOBS" modules

	mkdir -p "$BCACHE/artifacts"
	cp "$BCACHE/build-y/arch/x86/boot/bzImage" "$BCACHE/artifacts/bzImage"
	cp "$BCACHE/build-m/drivers/net/netoops.ko" "$BCACHE/artifacts/netoops.ko"
	cp "$BCACHE/build-y/.config" "$BCACHE/artifacts/config"
	echo "$key" >"$BCACHE/artifacts/key"
	copy_out
	say "$BASE: built ${OUT#"$REPO"/}/bzImage and netoops.ko in $(( $(date +%s) - start ))s"
}

main() {
	local want=all b
	SETUP_ONLY=0
	FORCE=0
	while [[ $# -gt 0 ]]; do
		case $1 in
		--setup-only) SETUP_ONLY=1 ;;
		--force) FORCE=1 ;;
		--base) want=${2:-}; shift ;;
		*) echo "usage: $0 [--base 6.12|7.2|all] [--setup-only] [--force]" >&2; exit 2 ;;
		esac
		shift
	done
	[[ $want == all || $want == 6.12 || $want == 7.2 ]] ||
		die "--base $want: expected 6.12, 7.2 or all"
	[[ -z ${KERNEL_SRC:-} || $want != all ]] || die "KERNEL_SRC needs --base"

	install_deps
	lock_cache
	for b in "${BASES[@]}"; do
		[[ $want == all || $want == "$b" ]] || continue
		set_base "$b"
		build_base
	done
}

# scripts/check-patches.sh sources this file for its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
