#!/usr/bin/env bash
# make deb: builds the Debian packages into out/deb/:
#   netoops_VERSION_amd64.deb     netoopsctl, catcher, systemd units, man
#                                 pages, bash/zsh completion, docs
#   netoops-dkms_VERSION_all.deb  the module source for DKMS (dkms/ and
#                                 driver/netoops.c), DKMS hooks, MOK notes
# VERSION is scripts/version.sh. Needs out/bin/netoopsctl and out/bin/catcher
# (make build). The packages are made by nfpm (goreleaser/nfpm, run pinned
# with go run) from trees staged under out/deb/stage/.
#
# Environment: MKDEB_VERSION and MKDEB_OUT build another version into
# another directory (deb-test installs an older one first, to upgrade it).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
GO=${GO:-go}
NFPM=(${NFPM:-$GO run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2})
OUT=$(realpath -m "${MKDEB_OUT:-$REPO/out/deb}")
STAGE=$OUT/stage
MAINTAINER="netoops developers <dev@netoops.invalid>"
HOMEPAGE=https://github.com/netoops/netoops

die() { printf 'mkdeb: %s\n' "$*" >&2; exit 1; }

VERSION=${MKDEB_VERSION:-$(scripts/version.sh)}
case $VERSION in
[0-9]*) ;;
*) die "version '$VERSION' does not start with a digit" ;;
esac
for f in out/bin/netoopsctl out/bin/catcher; do
	[[ -x $f ]] || die "$f is missing: run make build"
done
# The date of HEAD's commit, for the changelog and every file's mtime: the
# same commit gives the same packages.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
DATE=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
MTIME=$(date -u -d "@$SOURCE_DATE_EPOCH" +%FT%TZ)
COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# Copyright years: from the first commit to HEAD's.
YEAR=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
FIRST=$(git log --max-parents=0 --format=%ct HEAD 2>/dev/null | tail -n1)
FIRST=$(date -u -d "@${FIRST:-$SOURCE_DATE_EPOCH}" +%Y)
YEARS=$FIRST
[[ $FIRST == "$YEAR" ]] || YEARS=$FIRST-$YEAR

rm -rf "$STAGE" "$OUT"/*.deb
mkdir -p "$STAGE"

# changelog PACKAGE DIR: a native package's changelog.gz.
changelog() {
	mkdir -p "$2"
	{
		echo "$1 ($VERSION) unstable; urgency=medium"
		echo
		echo "  * Built from git commit $COMMIT (see the project's git history)."
		echo
		echo " -- $MAINTAINER  $DATE"
	} | gzip -9n >"$2/changelog.gz"
	chmod 0644 "$2/changelog.gz"
}

# Apache-2.0 licenses are referred to in common-licenses, not copied.
license_text() {
	local f=$1
	if grep -q 'Apache License' "$f" && grep -q 'Version 2.0' "$f"; then
		echo " Apache License 2.0: see /usr/share/common-licenses/Apache-2.0."
	else
		sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "$f"
	fi
}

# The copyright of the tools: netoops's own code, then every module linked
# into the binaries, with its license from the module cache.
tools_copyright() {
	local modcache goroot dep f
	modcache=$($GO env GOMODCACHE)
	goroot=$($GO env GOROOT)
	cat <<EOF
netoopsctl and catcher, from $HOMEPAGE (git commit $COMMIT).

Copyright $YEARS netoops developers <dev@netoops.invalid>.
The project has not stated a license for its Go code yet.

The binaries are statically linked Go programs. They contain the Go
standard library and these Go modules, under the licenses that follow.

Go standard library ($($GO env GOVERSION)):
$(license_text "$goroot/LICENSE")
EOF
	for dep in $($GO version -m out/bin/netoopsctl out/bin/catcher | awk '$1 == "dep" { print $2 "@" $3 }' | sort -u); do
		echo
		echo "$dep:"
		found=0
		for f in "$modcache/$dep"/LICENSE* "$modcache/$dep"/LICENCE* "$modcache/$dep"/COPYING* "$modcache/$dep"/NOTICE*; do
			[[ -f $f ]] || continue
			license_text "$f"
			found=1
		done
		[[ $found -eq 1 ]] || die "no license file for $dep in $modcache"
	done
}

dkms_copyright() {
	cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: netoops
Source: $HOMEPAGE

Files: *
Copyright: $YEARS netoops developers <dev@netoops.invalid>
License: GPL-2
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License version 2 as published by
 the Free Software Foundation.
 .
 On Debian systems, the full text of the GNU General Public License version 2
 can be found in /usr/share/common-licenses/GPL-2.
EOF
}

# --- netoops: the tools ---------------------------------------------------
T=$STAGE/netoops
install -D -m 0755 out/bin/netoopsctl "$T/usr/sbin/netoopsctl"
install -D -m 0755 out/bin/catcher "$T/usr/bin/catcher"
install -d -m 0755 "$T/usr/share/man/man8" "$T/usr/share/man/man1"
gzip -9n <docs/netoopsctl.8 >"$T/usr/share/man/man8/netoopsctl.8.gz"
gzip -9n <docs/catcher.1 >"$T/usr/share/man/man1/catcher.1.gz"
install -D -m 0644 completion/netoopsctl.bash "$T/usr/share/bash-completion/completions/netoopsctl"
install -D -m 0644 completion/_netoopsctl "$T/usr/share/zsh/vendor-completions/_netoopsctl"
install -D -m 0644 scripts/systemd/netoopsctl-follow@.service "$T/usr/lib/systemd/system/netoopsctl-follow@.service"
# The repository's unit is written for a hand install into /usr/local.
install -d -m 0755 "$T/usr/lib/systemd/system"
sed -e 's|/usr/local/bin/catcher|/usr/bin/catcher|g' \
    -e '/install -m .*out\/bin\/catcher/d' \
    -e '/install -m .*scripts\/systemd/d' \
    scripts/systemd/netoops-catcher.service >"$T/usr/lib/systemd/system/netoops-catcher.service"
chmod 0644 "$T/usr/lib/systemd/system/netoops-catcher.service"
if grep -n '/usr/local/bin/catcher\|out/bin\|scripts/systemd' "$T/usr/lib/systemd/system/"*.service; then
	die "a packaged unit still refers to a hand install (above)"
fi
D=$T/usr/share/doc/netoops
install -d -m 0755 "$D/examples"
install -m 0644 scripts/systemd/follow.env.example "$D/examples/follow.env.example"
for f in netoopsctl catcher stock-kernel sysctl wire-format; do
	gzip -9n <"docs/$f.md" >"$D/$f.md.gz"
done
gzip -9n <README.md >"$D/README.md.gz"
chmod 0644 "$D"/*.gz
changelog netoops "$D"
tools_copyright >"$D/copyright"
chmod 0644 "$D/copyright"
# Go programs are static on purpose (CGO_ENABLED=0: no libc dependency, they
# run in an initramfs and on every release); lintian knows Go only from a
# source package's Build-Depends.
install -d -m 0755 "$T/usr/share/lintian/overrides"
{
	echo "# Static Go binaries (CGO_ENABLED=0), on purpose: see the copyright file."
	echo "netoops: statically-linked-binary [usr/bin/catcher]"
	echo "netoops: statically-linked-binary [usr/sbin/netoopsctl]"
} >"$T/usr/share/lintian/overrides/netoops"
chmod 0644 "$T/usr/share/lintian/overrides/netoops"

# --- netoops-dkms: the module source --------------------------------------
K=$STAGE/netoops-dkms
install -d -m 0755 "$K/usr/src"
scripts/dkms-source.sh "$K/usr/src" "$VERSION" >/dev/null
install -D -m 0644 packaging/modules-load.conf "$K/usr/lib/modules-load.d/netoops.conf"
D=$K/usr/share/doc/netoops-dkms
install -d -m 0755 "$D"
gzip -9n <packaging/netoops-dkms.README.Debian >"$D/README.Debian.gz"
gzip -9n <driver/netoops.rst >"$D/netoops.rst.gz"
chmod 0644 "$D/README.Debian.gz" "$D/netoops.rst.gz"
changelog netoops-dkms "$D"
dkms_copyright >"$D/copyright"
chmod 0644 "$D/copyright"

# Maintainer scripts, with the version filled in.
for s in netoops-dkms.postinst netoops-dkms.prerm netoops.postinst netoops.postrm; do
	sed "s/@VERSION@/$VERSION/g" "packaging/$s" >"$STAGE/$s"
	chmod 0755 "$STAGE/$s"
done

# tree_contents DIR: nfpm contents, one entry per file, symlink and directory.
tree_contents() {
	local root=$1 p
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort) | while read -r p; do
		p=${p#./}
		if [[ -d $root/$p && ! -L $root/$p ]]; then
			printf '  - dst: /%s\n    type: dir\n    file_info: {mode: 0755}\n' "$p"
		else
			printf '  - src: %s\n    dst: /%s\n    file_info: {mode: 0%s}\n' "$root/$p" "$p" "$(stat -c '%a' "$root/$p")"
		fi
	done
}

cat >"$STAGE/netoops.yaml" <<EOF
name: netoops
arch: amd64
platform: linux
version: $VERSION
version_schema: none
mtime: $MTIME
section: admin
priority: optional
maintainer: $MAINTAINER
homepage: $HOMEPAGE
description: |-
  send a crashing Linux kernel's log over the network (tools)
  netoops is a kernel kmsg dumper that sends the whole kernel log as UDP
  through netpoll when the kernel oopses or panics: tail first, every
  packet self-describing, each sent several times.
  .
  This package has the tools. netoopsctl finds the route, source address
  and next-hop MAC of a collector and writes the kernel's netoops
  configuration, and netoopsctl-follow@.service keeps it right as the
  network changes. catcher receives, reassembles and stores the dumps of a
  fleet (netoops-catcher.service).
  .
  The kernel side is netoops built into the kernel or, on a distribution
  kernel, the netoops-dkms module.
suggests:
  - netoops-dkms
scripts:
  postinstall: $STAGE/netoops.postinst
  postremove: $STAGE/netoops.postrm
contents:
$(tree_contents "$T")
EOF

cat >"$STAGE/netoops-dkms.yaml" <<EOF
name: netoops-dkms
arch: all
platform: linux
version: $VERSION
version_schema: none
mtime: $MTIME
section: kernel
priority: optional
maintainer: $MAINTAINER
homepage: $HOMEPAGE
description: |-
  send a crashing Linux kernel's log over the network (DKMS module)
  netoops is a kernel kmsg dumper that sends the whole kernel log as UDP
  through netpoll when the kernel oopses or panics: tail first, every
  packet self-describing, each sent several times.
  .
  This package has the source of the netoops kernel module, which DKMS
  builds for every installed kernel with headers, and rebuilds when a new
  kernel is installed. Configure it with netoopsctl (package netoops). With
  Secure Boot the module must be signed with an enrolled key: see
  README.Debian.
depends:
  - dkms (>= 2.8)
recommends:
  - netoops
scripts:
  postinstall: $STAGE/netoops-dkms.postinst
  preremove: $STAGE/netoops-dkms.prerm
contents:
$(tree_contents "$K")
EOF

mkdir -p "$OUT"
for p in netoops netoops-dkms; do
	"${NFPM[@]}" package --config "$STAGE/$p.yaml" --packager deb --target "$OUT/" >&2
done
ls "$OUT"/*.deb
