#!/usr/bin/env bash
# Installs what the QEMU guests need, when it is missing: qemu-system-x86_64
# and a static busybox. Sourced by e2e.sh and demo.sh; prints the busybox to
# use as NETOOPS_E2E_BUSYBOX.
#
# A dynamically linked /bin/busybox (Debian's "busybox" package) cannot run
# in the guest, and installing busybox-static would replace it, so then the
# busybox-static package is only unpacked into the cache.
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then
	NETOOPS_CACHE=${NETOOPS_CACHE:-/var/cache/netoops}
else
	NETOOPS_CACHE=${NETOOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netoops}
fi

apt_updated=
apt_install() {
	if [ -z "$apt_updated" ]; then
		echo "==> apt-get update" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		apt_updated=1
	fi
	echo "==> apt-get install $*" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

is_static() { # ELF without a program interpreter
	[ -x "$1" ] && ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}

qemu_deps() {
	command -v qemu-system-x86_64 >/dev/null || apt_install qemu-system-x86
	command -v readelf >/dev/null || apt_install binutils
	if [ -n "${NETOOPS_E2E_BUSYBOX:-}" ]; then
		echo "$NETOOPS_E2E_BUSYBOX"
		return
	fi
	if is_static /bin/busybox; then
		echo /bin/busybox
		return
	fi
	local bb=$NETOOPS_CACHE/busybox-static/bin/busybox
	if ! is_static "$bb"; then
		if ! dpkg -s busybox >/dev/null 2>&1; then
			apt_install busybox-static
			echo /bin/busybox
			return
		fi
		echo "==> unpacking busybox-static into $NETOOPS_CACHE (the dynamic busybox package stays)" >&2
		[ -n "$apt_updated" ] || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; apt_updated=1; }
		local tmp
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download busybox-static >&2)
		mkdir -p "$NETOOPS_CACHE/busybox-static"
		dpkg-deb -x "$tmp"/busybox-static_*.deb "$NETOOPS_CACHE/busybox-static"
		rm -rf "$tmp"
	fi
	echo "$bb"
}
