#!/usr/bin/env bash
# Download one Debian package from a given suite into a cache and unpack it,
# without touching the system's apt configuration: a private sources list,
# state and cache directory per suite (never the system's /etc/apt/sources.list,
# never installed).
#
# Usage: scripts/debian-fetch.sh [--source] SUITE PACKAGE
#   --source  the source package instead (apt-get source --download-only,
#             then dpkg-source -x; needs dpkg-dev), unpacked in
#             SUITE/src-PACKAGE_VERSION/
#   Prints the directory the package is unpacked in (dpkg-deb -x), e.g.
#   scripts/debian-fetch.sh sid linux-source-7.2
#     -> /var/cache/netoops-debian/sid/linux-source-7.2_7.2.1-1_all/
#
# The unpacked tree is cached by the package's version: a second call with
# the same version prints the same directory without downloading anything
# (an `apt-get update` of the private lists is done at most once per
# DEBIAN_FETCH_TTL seconds, default 86400; DEBIAN_FETCH_OFFLINE=1 skips it
# and uses the newest version already unpacked).
#
# Environment: DEBIAN_FETCH_CACHE (default /var/cache/netoops-debian as root,
# else ~/.cache/netoops-debian), DEBIAN_FETCH_MIRROR (default
# http://deb.debian.org/debian), DEBIAN_FETCH_ARCH (default amd64).
set -euo pipefail

die() { printf 'debian-fetch: %s\n' "$*" >&2; exit 1; }

SOURCE=0
if [[ ${1:-} == --source ]]; then SOURCE=1; shift; fi
[[ $# -eq 2 ]] || { echo "usage: $0 [--source] SUITE PACKAGE" >&2; exit 2; }
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
mkdir -p "$ROOT/apt/lists/partial" "$ROOT/apt/cache/archives/partial" "$ROOT/debs"
exec 8>"$ROOT/lock"
flock -w 3600 8 || die "cannot lock $ROOT/lock"

cat >"$ROOT/apt/sources.list" <<EOT
deb [signed-by=$KEYRING] $MIRROR $SUITE main
deb-src [signed-by=$KEYRING] $MIRROR $SUITE main
EOT
: >"$ROOT/apt/status"
APT=(-o Dir::Etc::sourcelist="$ROOT/apt/sources.list"
     -o Dir::Etc::sourceparts=/dev/null
     -o Dir::Etc::preferences=/dev/null
     -o Dir::Etc::preferencesparts=/dev/null
     -o Dir::State::Lists="$ROOT/apt/lists"
     -o Dir::State::status="$ROOT/apt/status"
     -o Dir::Cache="$ROOT/apt/cache"
     -o APT::Architecture="$ARCH"
     -o APT::Architectures="$ARCH"
     -o Debug::NoLocking=1)

PREFIX=
[[ $SOURCE -eq 0 ]] || PREFIX=src-
newest_unpacked() {
	ls -d "$ROOT/${PREFIX}${PKG}"_*/ 2>/dev/null | while read -r d; do
		[[ -f $d/.debian-fetch-done ]] && echo "${d%/}"
	done | sort -V | tail -n1
}

if [[ ${DEBIAN_FETCH_OFFLINE:-0} == 1 ]]; then
	d=$(newest_unpacked)
	[[ -n $d ]] || die "DEBIAN_FETCH_OFFLINE=1 but $PKG from $SUITE was never unpacked in $ROOT"
	echo "$d"
	exit 0
fi

stamp=$ROOT/apt/updated
if [[ ! -f $stamp || $(( $(date +%s) - $(stat -c %Y "$stamp") )) -ge $TTL ]]; then
	printf 'debian-fetch: apt-get update for %s\n' "$SUITE" >&2
	if apt-get "${APT[@]}" -qq update >&2; then
		touch "$stamp"
	else
		d=$(newest_unpacked)
		[[ -n $d ]] || die "apt-get update for $SUITE failed and nothing is cached"
		printf 'debian-fetch: update failed, using cached %s\n' "$d" >&2
		echo "$d"
		exit 0
	fi
fi

if [[ $SOURCE -eq 1 ]]; then
	ver=$(apt-cache "${APT[@]}" showsrc "$PKG" 2>/dev/null |
	      sed -n 's/^Version: //p' | sort -V | tail -n1)
else
	ver=$(apt-cache "${APT[@]}" show --no-all-versions "$PKG" 2>/dev/null |
	      sed -n 's/^Version: //p' | head -n1)
fi
[[ -n $ver ]] || die "$SUITE has no package $PKG"
dir=$ROOT/${PREFIX}${PKG}_${ver//:/%3a}
if [[ -f $dir/.debian-fetch-done ]]; then
	echo "$dir"
	exit 0
fi

if [[ $SOURCE -eq 1 ]]; then
	command -v dpkg-source >/dev/null || die "dpkg-source is missing (apt-get install dpkg-dev)"
	printf 'debian-fetch: downloading source %s %s from %s\n' "$PKG" "$ver" "$SUITE" >&2
	rm -rf "$ROOT/srcdl" "$dir" "$dir.tmp"
	mkdir -p "$ROOT/srcdl"
	(cd "$ROOT/srcdl" && apt-get "${APT[@]}" -qq source --download-only "$PKG=$ver" >&2) ||
		die "apt-get source $PKG=$ver from $SUITE failed"
	dpkg-source --no-check -x "$ROOT/srcdl/"*.dsc "$dir.tmp" >&2
	touch "$dir.tmp/.debian-fetch-done"
	mv "$dir.tmp" "$dir"
	rm -rf "$ROOT/srcdl"
	echo "$dir"
	exit 0
fi

printf 'debian-fetch: downloading %s %s from %s\n' "$PKG" "$ver" "$SUITE" >&2
(cd "$ROOT/debs" && apt-get "${APT[@]}" -qq download "$PKG=$ver" >&2) ||
	die "apt-get download $PKG=$ver from $SUITE failed"
deb=$(ls -t "$ROOT/debs/${PKG}_${ver//:/%3a}_"*.deb | head -n1)
rm -rf "$dir" "$dir.tmp"
dpkg-deb -x "$deb" "$dir.tmp"
touch "$dir.tmp/.debian-fetch-done"
mv "$dir.tmp" "$dir"
rm -f "$deb"
echo "$dir"
