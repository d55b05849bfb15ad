#!/bin/sh
# Prints netoops's version from git, valid as a Debian version, a DKMS
# PACKAGE_VERSION and a MODULE_VERSION:
#   on a tag vX.Y.Z:        X.Y.Z
#   N commits after it:     X.Y.Z+gitYYYYMMDD.N.gHASH
#   no tag (a plain clone): 0.0.0+gitYYYYMMDD.N.gHASH  (N: commits in the clone)
#   uncommitted changes:    ... with .dirty appended (X.Y.Z+dirty on a tag)
#   no git at all:          0.0.0
# YYYYMMDD is HEAD's commit date, so that later commits sort later even when
# N restarts (a shallow clone).
set -eu
cd "$(dirname "$0")/.."

if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
	echo 0.0.0
	exit 0
fi
hash=$(git rev-parse --short=12 HEAD)
date=$(TZ=UTC git log -1 --date=format-local:%Y%m%d --format=%cd HEAD)
if desc=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
	# vX.Y.Z-N-gHASH
	base=${desc%-*-g*}
	base=${base#v}
	n=${desc%-g*}
	n=${n##*-}
else
	base=0.0.0
	n=$(git rev-list --count HEAD)
fi
case $base in
[0-9]*) ;;
*) echo "version.sh: tag v$base does not start with a digit" >&2; exit 1 ;;
esac
if [ "$n" = 0 ]; then
	v=$base
	sep=+
else
	v=$base+git$date.$n.g$hash
	sep=.
fi
if ! git diff-index --quiet HEAD -- 2>/dev/null; then
	v=$v${sep}dirty
fi
echo "$v"
