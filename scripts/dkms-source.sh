#!/bin/sh
# Assembles the out-of-tree source of netoops, as DKMS and the netoops-dkms
# package want it: DEST/netoops-VERSION/ with dkms.conf, VERSION, the Kbuild
# side (dkms/) and the driver itself (driver/netoops.c, unchanged). Prints
# the directory.
#
# Usage: scripts/dkms-source.sh DEST [VERSION]   (VERSION: scripts/version.sh)
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 DEST [VERSION]" >&2; exit 2; }
dest=$1
version=${2:-$("$repo/scripts/version.sh")}
case $version in
*[!A-Za-z0-9.+~-]* | "") echo "dkms-source: bad version '$version'" >&2; exit 1 ;;
esac

dir=$dest/netoops-$version
rm -rf "$dir"
mkdir -p "$dir/features"
install -m 0644 "$repo/dkms/Kbuild" "$repo/dkms/Makefile" "$repo/dkms/compat.h" \
	"$repo/driver/netoops.c" "$dir/"
install -m 0644 "$repo"/dkms/features/* "$dir/features/"
(cd "$repo/dkms" && find include -type f) | while read -r f; do
	install -D -m 0644 "$repo/dkms/$f" "$dir/$f"
done
sed "s/@VERSION@/$version/" "$repo/dkms/dkms.conf.in" >"$dir/dkms.conf"
chmod 0644 "$dir/dkms.conf"
echo "$version" >"$dir/VERSION"
echo "$dir"
