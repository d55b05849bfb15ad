#!/usr/bin/env bash
# Download one Debian package from a given suite and unpack it into a cache,
# without touching the system's apt configuration: every suite has its own
# sources list, package lists, state and download cache (the system's
# /etc/apt is never read, nothing is installed).
#
# Usage:
#   scripts/debian-fetch.sh SUITE PACKAGE
#       Unpacks PACKAGE (dpkg-deb -x) and prints its directory, e.g.
#       scripts/debian-fetch.sh sid linux-source-7.2
#         -> /var/cache/netoops-debian/sid/linux-source-7.2_7.2.13-1/
#   scripts/debian-fetch.sh --version SUITE PACKAGE
#       Prints the version SUITE has (newest), downloads nothing.
#   scripts/debian-fetch.sh --depends SUITE PACKAGE
#       Prints the packages PACKAGE depends on, one a line, first
#       alternative of each, without version constraints.
#   scripts/debian-fetch.sh --source SUITE PACKAGE
#       The source package instead (apt-get source --download-only, then
#       dpkg-source -x; needs dpkg-dev), unpacked in
#       SUITE/src-PACKAGE_VERSION/; prints that directory.
#
# A package is unpacked once per version: a second call for the same version
# prints the same directory without downloading. The private package lists
# are refreshed at most once per DEBIAN_FETCH_TTL seconds (default 86400);
# DEBIAN_FETCH_OFFLINE=1 never refreshes and uses the newest version already
# unpacked. A failed refresh falls back to what is cached.
#
# Environment: DEBIAN_FETCH_CACHE (default /var/cache/netoops-debian as root,
# else ~/.cache/netoops-debian), DEBIAN_FETCH_MIRROR (default
# http://deb.debian.org/debian), DEBIAN_FETCH_ARCH (default amd64).
set -euo pipefail

die() { printf 'debian-fetch: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: $0 [--version|--depends|--source] SUITE PACKAGE" >&2; exit 2; }

MODE=unpack
case ${1:-} in
--version) MODE=version; shift ;;
--depends) MODE=depends; shift ;;
--source) MODE=source; shift ;;
-*) usage ;;
esac
PREFIX=
[[ $MODE != source ]] || PREFIX=src-
[[ $# -eq 2 ]] || usage
SUITE=$1 PKG=$2
[[ $SUITE =~ ^[a-z0-9-]+$ ]] || die "bad suite name '$SUITE'"
[[ $PKG =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || die "bad package name '$PKG'"

if [[ $(id -u) -eq 0 ]]; then
	CACHE=${DEBIAN_FETCH_CACHE:-/var/cache/netoops-debian}
else
	CACHE=${DEBIAN_FETCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netoops-debian}
fi
MIRROR=${DEBIAN_FETCH_MIRROR:-http://deb.debian.org/debian}
ARCH=${DEBIAN_FETCH_ARCH:-amd64}
TTL=${DEBIAN_FETCH_TTL:-86400}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f $KEYRING ]] || die "$KEYRING is missing (apt-get install debian-archive-keyring)"

ROOT=$CACHE/$SUITE
# Binary and source package lists are kept apart (apt-src/: deb-src only).
A=$ROOT/apt
[[ $MODE != source ]] || A=$ROOT/apt-src
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$ROOT/debs"
exec 8>"$ROOT/lock"
flock -w 3600 8 || die "cannot lock $ROOT/lock"

if [[ $MODE == source ]]; then
	echo "deb-src [signed-by=$KEYRING] $MIRROR $SUITE main" >"$A/sources.list"
else
	echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" >"$A/sources.list"
fi
: >"$A/status"
APT=(-o Dir::Etc::sourcelist="$A/sources.list"
     -o Dir::Etc::sourceparts=/dev/null
     -o Dir::Etc::preferences=/dev/null
     -o Dir::Etc::preferencesparts=/dev/null
     -o Dir::State::Lists="$A/lists"
     -o Dir::State::status="$A/status"
     -o Dir::Cache="$A/cache"
     -o APT::Architecture="$ARCH"
     -o APT::Architectures="$ARCH"
     -o APT::Sandbox::User=root
     -o Debug::NoLocking=1)

newest_unpacked() {
	local d
	for d in "$ROOT/${PREFIX}${PKG}"_*/; do
		[[ -f $d/.debian-fetch-done ]] && echo "${d%/}"
	done | sort -V | tail -n1
}

offline() {
	local d
	d=$(newest_unpacked)
	[[ -n $d ]] || die "$1, and $PKG from $SUITE was never unpacked in $ROOT"
	case $MODE in
	unpack | source) echo "$d" ;;
	version | depends)
		[[ -f $d/.debian-fetch-$MODE ]] || die "$1, and $d does not record its $MODE"
		cat "$d/.debian-fetch-$MODE" ;;
	esac
	exit 0
}

[[ ${DEBIAN_FETCH_OFFLINE:-0} != 1 ]] || offline "DEBIAN_FETCH_OFFLINE=1"

stamp=$A/updated
if [[ ! -f $stamp || $(( $(date +%s) - $(stat -c %Y "$stamp") )) -ge $TTL ]]; then
	printf 'debian-fetch: apt-get update for %s\n' "$SUITE" >&2
	if apt-get "${APT[@]}" -qq update >&2; then
		touch "$stamp"
	else
		printf 'debian-fetch: apt-get update for %s failed, using the cache\n' "$SUITE" >&2
		[[ -n $(ls "$A/lists/"*_{Packages,Sources}* 2>/dev/null) ]] || offline "apt-get update failed"
	fi
fi

if [[ $MODE == source ]]; then
	ver=$(apt-cache "${APT[@]}" showsrc "$PKG" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n1)
	[[ -n $ver ]] || die "$SUITE has no source package $PKG"
	dir=$ROOT/src-${PKG}_${ver//:/%3a}
	if [[ ! -f $dir/.debian-fetch-done ]]; then
		command -v dpkg-source >/dev/null || die "dpkg-source is missing (apt-get install dpkg-dev)"
		printf 'debian-fetch: downloading source %s %s from %s\n' "$PKG" "$ver" "$SUITE" >&2
		rm -rf "$ROOT/srcdl" "$dir" "$dir.tmp"
		mkdir -p "$ROOT/srcdl"
		(cd "$ROOT/srcdl" && apt-get "${APT[@]}" -qq source --download-only "$PKG=$ver" >&2) ||
			die "apt-get source $PKG=$ver from $SUITE failed"
		# apt checked the files against the signed Release; the .dsc's own
		# signature is not checked again.
		dpkg-source --no-check -x "$ROOT/srcdl/"*.dsc "$dir.tmp" >&2
		# dpkg-source leaves the upstream tarballs next to the tree.
		rm -f "$ROOT/${PKG}_"*.orig.tar.* "$ROOT/${PKG}_"*.orig-*.tar.*
		echo "$ver" >"$dir.tmp/.debian-fetch-version"
		touch "$dir.tmp/.debian-fetch-done"
		mv "$dir.tmp" "$dir"
		rm -rf "$ROOT/srcdl"
	fi
	echo "$dir"
	exit 0
fi

info=$(apt-cache "${APT[@]}" show --no-all-versions "$PKG" 2>/dev/null) || die "$SUITE has no package $PKG"
ver=$(sed -n 's/^Version: //p' <<<"$info" | head -n1)
[[ -n $ver ]] || die "$SUITE has no package $PKG"
depends() {
	sed -n 's/^\(Pre-\)\?Depends: //p' <<<"$info" | tr ',' '\n' |
		sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | sed '/^$/d'
}

case $MODE in
version) echo "$ver"; exit 0 ;;
depends) depends; exit 0 ;;
esac

dir=$ROOT/${PKG}_${ver//:/%3a}
if [[ -f $dir/.debian-fetch-done ]]; then
	echo "$dir"
	exit 0
fi

printf 'debian-fetch: downloading %s %s from %s\n' "$PKG" "$ver" "$SUITE" >&2
rm -f "$ROOT/debs/${PKG}_"*.deb
(cd "$ROOT/debs" && apt-get "${APT[@]}" -qq download "$PKG=$ver" >&2) ||
	die "apt-get download $PKG=$ver from $SUITE failed"
deb=$(ls -t "$ROOT/debs/${PKG}_"*.deb | head -n1)
rm -rf "$dir" "$dir.tmp"
dpkg-deb -x "$deb" "$dir.tmp"
echo "$ver" >"$dir.tmp/.debian-fetch-version"
depends >"$dir.tmp/.debian-fetch-depends"
touch "$dir.tmp/.debian-fetch-done"
mv "$dir.tmp" "$dir"
rm -f "$deb"
echo "$dir"
