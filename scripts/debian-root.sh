#!/usr/bin/env bash
# Debian roots (debootstrap --variant=minbase) for building and installing
# against other releases than this machine's, cached. A root has its own
# apt sources (its suite only); nothing of it is installed on this machine.
#
# Usage:
#   scripts/debian-root.sh create SUITE [PACKAGE...]
#       Prints the root of SUITE with PACKAGEs installed (apt-get install
#       inside it). Cached under $NETOOPS_CACHE/stock/roots/SUITE: created
#       once, and PACKAGEs missing from it are installed on later calls;
#       DEBIAN_ROOT_TTL (seconds, default 7 days) after its creation it is
#       made afresh, so that it follows the archive.
#   scripts/debian-root.sh run ROOT COMMAND...
#       Runs COMMAND in ROOT (chroot) with /proc mounted, in a private mount
#       namespace: no mount outlives the command.
#   scripts/debian-root.sh clone ROOT DEST
#       Makes DEST a full copy of ROOT (replacing DEST), to install into
#       without touching the cached root.
#
# Roots build no initramfs (nothing boots them): update-initramfs and dracut
# are diverted to true before anything is installed.
#
# Environment: NETOOPS_CACHE (default /var/cache/netoops), DEBIAN_ROOT_MIRROR
# (default http://deb.debian.org/debian). Needs root.
set -euo pipefail

die() { printf 'debian-root: %s\n' "$*" >&2; exit 1; }
say() { printf '==> %s\n' "$*" >&2; }

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot)"
CACHE=${NETOOPS_CACHE:-/var/cache/netoops}
ROOTS=$CACHE/stock/roots
MIRROR=${DEBIAN_ROOT_MIRROR:-http://deb.debian.org/debian}
TTL=${DEBIAN_ROOT_TTL:-604800}

in_root() {
	local root=$1
	shift
	[[ -x $root/bin/sh ]] || die "$root is not a root"
	unshare --mount --propagation private -- sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc" || exit 1
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	' sh "$root" "$@"
}

# setup_apt ROOT SUITE: the root's apt reads SUITE only, keeps what it
# downloads, starts no services, and trusts the archive as this machine's
# apt does (Acquire::Check-Valid-Until, for mirrors serving a frozen
# snapshot).
setup_apt() {
	local root=$1 suite=$2
	echo "deb $MIRROR $suite main" >"$root/etc/apt/sources.list"
	rm -f "$root/etc/apt/sources.list.d/"*
	echo 'APT::Keep-Downloaded-Packages "true";' >"$root/etc/apt/apt.conf.d/90netoops-keep"
	if [[ $(apt-config dump Acquire::Check-Valid-Until 2>/dev/null) == *'"false"'* ]]; then
		echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/90netoops-valid-until"
	fi
	printf '#!/bin/sh\n# netoops test root: start no services\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
}

# no_initramfs ROOT: nothing boots a root, so installing a kernel image in
# it builds no initramfs: update-initramfs and dracut are diverted to true
# (dpkg-divert, so their packages install their own copies beside them).
no_initramfs() {
	local root=$1 f
	for f in /usr/sbin/update-initramfs /usr/bin/dracut; do
		in_root "$root" dpkg-divert --local --rename --divert "$f.netoops-real" --add "$f" >/dev/null
		ln -sf /bin/true "$root$f"
	done
}

create() {
	local suite=$1 root tmp created pkg missing=()
	shift
	[[ $suite =~ ^[a-z0-9-]+$ ]] || die "bad suite '$suite'"
	command -v debootstrap >/dev/null || {
		say "apt-get install debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
	}
	root=$ROOTS/$suite
	mkdir -p "$ROOTS"
	exec 7>"$ROOTS/$suite.lock"
	flock -w 3600 7 || die "cannot lock $ROOTS/$suite.lock"

	if [[ -f $root/.netoops-root ]]; then
		created=$(stat -c %Y "$root/.netoops-root")
		if (( $(date +%s) - created >= TTL )); then
			say "$root is older than ${TTL}s, making it afresh"
			rm -rf "$root"
		fi
	fi
	if [[ ! -f $root/.netoops-root ]]; then
		tmp=$root.tmp
		rm -rf "$tmp" "$root"
		say "debootstrap $suite into $tmp"
		debootstrap --variant=minbase "$suite" "$tmp" "$MIRROR" >"$ROOTS/$suite.debootstrap.log" 2>&1 ||
			die "debootstrap $suite failed (see $ROOTS/$suite.debootstrap.log)"
		setup_apt "$tmp" "$suite"
		no_initramfs "$tmp"
		in_root "$tmp" apt-get -qq update >&2
		date -u +%FT%TZ >"$tmp/.netoops-root"
		mv "$tmp" "$root"
	fi

	for pkg in "$@"; do
		grep -qxF "$pkg" "$root/.netoops-root-packages" 2>/dev/null || missing+=("$pkg")
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		say "installing ${missing[*]} in $root"
		in_root "$root" apt-get -qq update >&2 || true
		in_root "$root" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
			die "apt-get install ${missing[*]} in the $suite root failed"
		printf '%s\n' "${missing[@]}" >>"$root/.netoops-root-packages"
	fi
	echo "$root"
}

clone() {
	local root=$1 dest=$2
	[[ -f $root/.netoops-root ]] || die "$root is not a root made by this script"
	rm -rf "$dest"
	mkdir -p "$(dirname "$dest")"
	cp -a "$root" "$dest"
}

case ${1:-} in
create) shift; [[ $# -ge 1 ]] || die "usage: $0 create SUITE [PACKAGE...]"; create "$@" ;;
run) shift; [[ $# -ge 2 ]] || die "usage: $0 run ROOT COMMAND..."; in_root "$@" ;;
clone) shift; [[ $# -eq 2 ]] || die "usage: $0 clone ROOT DEST"; clone "$@" ;;
*) echo "usage: $0 create SUITE [PACKAGE...] | run ROOT COMMAND... | clone ROOT DEST" >&2; exit 2 ;;
esac
