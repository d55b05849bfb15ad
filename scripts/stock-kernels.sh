#!/usr/bin/env bash
# The stock-kernel side of make test (make deb-test): for each Debian
# release, its newest kernel, the packages from make deb installed on a
# clean root of that release, DKMS building netoops for that kernel, and
# what the QEMU suite needs to boot it.
#
#   scripts/stock-kernels.sh [SUITE...]      default: bookworm trixie sid
#
# Per SUITE (bookworm: 6.1, trixie: 6.12, sid: 7.2):
#  1. the ABI of SUITE's newest kernel: linux-image-amd64's dependency;
#  2. a root of SUITE (scripts/debian-root.sh, cached) with that
#     linux-image and linux-headers, dkms and openssl, installed by the
#     root's own apt; trixie's also gets the PREEMPT_RT headers;
#  3. a fresh copy of it, where the packages are installed with apt: first
#     the same packages as an older version (VERSION~pre, built here with
#     MKDEB_VERSION), then out/deb's as an upgrade of them, each time
#     netoops-dkms's postinst has DKMS build and sign netoops for the
#     kernel, and the upgrade's prerm removes the old version's module.
#     Checked: dkms status says installed (only the new version), the
#     module's vermagic and version, the tools run, the man pages and
#     units are there; on trixie DKMS skipped the -rt kernel and a manual
#     build for it stops with netoops's refusal. Then both packages are
#     removed and the module must be gone;
#  4. LKDTM built against the same kernel, from SUITE's linux-source
#     (Debian's kernels have CONFIG_LKDTM off; qemu/stock/lkdtm);
#  5. out/stock/ABI/: vmlinuz, config, netoops.ko (the DKMS build), lkdtm.ko,
#     the kernel's own e1000/configfs/netconsole modules (decompressed),
#     modules (the insmod order), info.txt; mok.pem, the DKMS key that
#     signed netoops.ko, and OVMF_VARS.fd, Microsoft's and Debian's Secure
#     Boot keys with that key enrolled in shim's MokList (virt-fw-vars, in
#     the trixie root), for the Secure Boot scenario;
#  6. out/stock/sb/: bookworm's OVMF (Secure Boot build), shim and grub,
#     signed, unpacked from their packages (never installed here).
#
# Step 3-5 are cached in $NETOOPS_CACHE/stock/artifacts/ABI/ by a hash of
# their inputs (the two .deb files, the root's package versions, the LKDTM
# source, this script and qemu/stock/lkdtm/); unchanged, they are copied.
# Why roots and not headers unpacked here: each release's kbuild tools and
# compiler (gcc 12, 14, 16) are built for its own glibc (sid's need 2.38+),
# and a real install is what is being tested.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=${NETOOPS_CACHE:-/var/cache/netoops}
ST=$CACHE/stock
OUT=$REPO/out/stock
ROOT_SH=$REPO/scripts/debian-root.sh
FETCH_SH=$REPO/scripts/debian-fetch.sh

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'stock-kernels: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot)"

# The guest's network driver and netconsole (the loss scenario compares
# with it), with what they depend on, from the kernel's modules.dep.
GUEST_MODULES=(e1000 netconsole)

shopt -s nullglob
debs=("$REPO"/out/deb/netoops-dkms_*_all.deb)
tools=("$REPO"/out/deb/netoops_*_amd64.deb)
[[ ${#debs[@]} -eq 1 && ${#tools[@]} -eq 1 ]] || die "want exactly one netoops-dkms and one netoops .deb in out/deb: run make deb"
DKMS_DEB=${debs[0]} TOOLS_DEB=${tools[0]}
VERSION=$(dpkg-deb -f "$DKMS_DEB" Version)
shopt -u nullglob

# The same packages as an older version, to upgrade from.
PREV=$VERSION~pre
say "building the packages as $PREV, to upgrade from"
MKDEB_VERSION=$PREV MKDEB_OUT=$REPO/out/deb/upgrade-from "$REPO/scripts/mkdeb.sh" >/dev/null
PREV_DEBS=("$REPO/out/deb/upgrade-from/netoops-dkms_${PREV}_all.deb" "$REPO/out/deb/upgrade-from/netoops_${PREV}_amd64.deb")
for f in "${PREV_DEBS[@]}"; do [[ -f $f ]] || die "$f was not built"; done

# newest_abi SUITE: the ABI of SUITE's newest amd64 kernel.
newest_abi() {
	local img
	img=$("$FETCH_SH" --depends "$1" linux-image-amd64 | grep '^linux-image-' | head -n1)
	[[ -n $img ]] || die "$1: linux-image-amd64 depends on no linux-image-*"
	echo "${img#linux-image-}"
}

# lkdtm_src SUITE ABI: drivers/misc/lkdtm of SUITE's linux-source for that
# kernel's version (linux-source-MAJOR.MINOR), unpacked once.
lkdtm_src() {
	local suite=$1 abi=$2 series pkgdir tarball ver dir
	series=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$abi")
	pkgdir=$("$FETCH_SH" "$suite" "linux-source-$series")
	ver=$(cat "$pkgdir/.debian-fetch-version")
	tarball=$pkgdir/usr/src/linux-source-$series.tar.xz
	dir=$ST/lkdtm-src/linux-source-${series}_$ver
	if [[ ! -f $dir/.done ]]; then
		say "unpacking drivers/misc/lkdtm of linux-source-$series $ver"
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		tar -C "$dir.tmp" -xJf "$tarball" --strip-components=4 \
			--wildcards "linux-source-$series/drivers/misc/lkdtm/*"
		[[ -f $dir.tmp/core.c ]] || die "no drivers/misc/lkdtm in $tarball"
		echo "linux-source-$series $ver" >"$dir.tmp/.done"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# root_versions ROOT: the root's installed packages and versions.
root_versions() {
	dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Package} ${Version}\n' | LC_ALL=C sort
}

# inroot ROOT CMD...: run in the root.
inroot() { "$ROOT_SH" run "$@"; }

# check WHAT CONDITION-COMMAND...: fail the suite with WHAT if it fails.
check() {
	local what=$1
	shift
	if ! "$@"; then
		die "$SUITE: $what"
	fi
}

# field_is NAME VALUE MODINFO: modinfo's NAME field (its first word) is VALUE.
field_is() {
	awk -v n="$1:" -v v="$2" '$1 == n && $2 == v { f = 1 } END { exit !f }' "$3"
}

# modules_for ROOT ABI NAME...: the modules.dep paths of NAMEs and their
# dependencies, dependencies first, each once.
modules_for() {
	local root=$1 abi=$2 name line path deps d
	shift 2
	local -A seen=()
	local order=()
	add() {
		local p=$1 l d
		[[ -n ${seen[$p]:-} ]] && return
		l=$(grep -E "^${p}:" "$root/lib/modules/$abi/modules.dep") || die "$p not in modules.dep"
		for d in ${l#*:}; do add "$d"; done
		seen[$p]=1
		order+=("$p")
	}
	for name in "$@"; do
		line=$(grep -E "/${name}\.ko(\.[a-z]+)?:" "$root/lib/modules/$abi/modules.dep" | head -n1) ||
			die "$abi has no module $name"
		add "${line%%:*}"
	done
	printf '%s\n' "${order[@]}"
}

# ko_out SRC DEST: copy a module, decompressed (busybox insmod cannot).
ko_out() {
	case $1 in
	*.xz) xz -dc "$1" >"$2" ;;
	*.zst) zstd -qdc "$1" >"$2" ;;
	*.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# Bookworm's signed boot chain and OVMF, unpacked from the packages.
SB_PKGS=(ovmf shim-signed grub-efi-amd64-signed)
sb_dir() {
	local p
	for p in "${SB_PKGS[@]}"; do
		"$FETCH_SH" bookworm "$p"
	done
}

# shim's GUID, the owner of the MokList entry.
SHIM_GUID=605dab50-e046-4300-abb6-3dd810dd8b23

# enroll_mok PEM OUT: OVMF_VARS_4M.ms.fd (Microsoft's keys, Secure Boot on)
# with the certificate PEM added to shim's MokList, as MokManager would
# after "mokutil --import"; virt-fw-vars runs in the trixie root.
enroll_mok() {
	local pem=$1 out=$2 vroot ovmf
	ovmf=$("$FETCH_SH" bookworm ovmf)
	vroot=$("$ROOT_SH" create trixie python3-virt-firmware)
	rm -rf "$vroot/tmp/enroll" && mkdir -p "$vroot/tmp/enroll"
	cp "$ovmf/usr/share/OVMF/OVMF_VARS_4M.ms.fd" "$pem" "$vroot/tmp/enroll/"
	inroot "$vroot" virt-fw-vars -i /tmp/enroll/OVMF_VARS_4M.ms.fd -o /tmp/enroll/vars.fd \
		--secure-boot --add-mok "$SHIM_GUID" "/tmp/enroll/$(basename "$pem")" >"$out.log" 2>&1 ||
		{ cat "$out.log" >&2; die "virt-fw-vars failed"; }
	cp "$vroot/tmp/enroll/vars.fd" "$out"
	rm -rf "$vroot/tmp/enroll"
}

build_suite() {
	SUITE=$1
	local abi root key art work extra=() rt_abi="" src mod d f ko start
	start=$(date +%s)
	abi=$(newest_abi "$SUITE")
	if [[ $SUITE == trixie ]]; then
		rt_abi=${abi%-amd64}-rt-amd64
		extra=("linux-headers-$rt_abi")
	fi
	say "$SUITE: kernel $abi"
	root=$("$ROOT_SH" create "$SUITE" dkms openssl "linux-image-$abi" "linux-headers-$abi" "${extra[@]}")
	src=$(lkdtm_src "$SUITE" "$abi")

	key=$( {
		sha256sum "$DKMS_DEB" "$TOOLS_DEB" "${PREV_DEBS[@]}" "${BASH_SOURCE[0]}" qemu/stock/lkdtm/* | cut -d' ' -f1
		sb_dir
		cat "$src/.done"
		root_versions "$root"
		echo "$abi $rt_abi"
	} | sha256sum | cut -d' ' -f1)
	art=$ST/artifacts/$abi
	if [[ -f $art/key && $(cat "$art/key") == "$key" ]]; then
		rm -rf "${OUT:?}/$abi"
		mkdir -p "$OUT"
		cp -a "$art" "$OUT/$abi"
		say "$SUITE: $abi is up to date (key ${key:0:12}), copied to out/stock/$abi"
		return
	fi

	work=$ST/work/$SUITE
	say "$SUITE: installing the packages in a copy of the clean root ($work)"
	"$ROOT_SH" clone "$root" "$work"
	mkdir -p "$work/tmp/netoops-debs"
	cp "$DKMS_DEB" "$TOOLS_DEB" "${PREV_DEBS[@]}" "$work/tmp/netoops-debs/"
	rm -rf "$art.tmp"
	mkdir -p "$art.tmp"
	if ! inroot "$work" apt-get install -y --no-install-recommends \
		"/tmp/netoops-debs/$(basename "${PREV_DEBS[0]}")" "/tmp/netoops-debs/$(basename "${PREV_DEBS[1]}")" \
		>"$art.tmp/install-prev.log" 2>&1; then
		tail -n 40 "$art.tmp/install-prev.log" >&2
		die "$SUITE: apt-get install of the packages ($PREV) failed (log above)"
	fi
	inroot "$work" dkms status >"$art.tmp/dkms-status-prev.txt" 2>&1
	check "dkms status does not say netoops $PREV is installed for $abi: $(cat "$art.tmp/dkms-status-prev.txt")" \
		grep -qF "netoops/$PREV, $abi, x86_64: installed" "$art.tmp/dkms-status-prev.txt"
	if ! inroot "$work" apt-get install -y --no-install-recommends \
		"/tmp/netoops-debs/$(basename "$DKMS_DEB")" "/tmp/netoops-debs/$(basename "$TOOLS_DEB")" \
		>"$art.tmp/install.log" 2>&1; then
		tail -n 40 "$art.tmp/install.log" >&2
		die "$SUITE: apt-get install of the packages (upgrade to $VERSION) failed (log above)"
	fi
	grep -q "^Unpacking netoops-dkms ($VERSION) over ($PREV)" "$art.tmp/install.log" ||
		die "$SUITE: the install of $VERSION was not an upgrade of $PREV (see $art.tmp/install.log)"

	# DKMS built and installed netoops for the kernel, signed.
	inroot "$work" dkms status >"$art.tmp/dkms-status.txt" 2>&1
	check "dkms status does not say netoops is installed for $abi: $(cat "$art.tmp/dkms-status.txt")" \
		grep -qF "netoops/$VERSION, $abi, x86_64: installed" "$art.tmp/dkms-status.txt"
	check "dkms still has $PREV after the upgrade: $(cat "$art.tmp/dkms-status.txt")" \
		bash -c "! grep -qF 'netoops/$PREV' '$art.tmp/dkms-status.txt'"
	mod=$(compgen -G "$work/lib/modules/$abi/updates/dkms/netoops.ko*" | head -n1 || true)
	[[ -n $mod ]] || die "$SUITE: no netoops.ko in /lib/modules/$abi/updates/dkms"
	ko_out "$mod" "$art.tmp/netoops.ko"
	inroot "$work" modinfo "/lib/modules/$abi/updates/dkms/$(basename "$mod")" >"$art.tmp/modinfo.txt"
	check "modinfo: version is not $VERSION" field_is version "$VERSION" "$art.tmp/modinfo.txt"
	check "modinfo: vermagic is not $abi" field_is vermagic "$abi" "$art.tmp/modinfo.txt"
	check "modinfo: not signed by the DKMS key" grep -qE "^signer: +DKMS module signing key" "$art.tmp/modinfo.txt"
	if grep -q '^CONFIG_MODVERSIONS=y' "$work/boot/config-$abi"; then
		check "vermagic lacks modversions on a MODVERSIONS kernel" grep -qE '^vermagic:.* modversions' "$art.tmp/modinfo.txt"
	fi
	check "modprobe does not find netoops for $abi" inroot "$work" modprobe -n -S "$abi" netoops

	# The tools run, and the package's other files are in place.
	inroot "$work" netoopsctl --help >/dev/null
	inroot "$work" catcher --help >/dev/null
	for f in usr/share/man/man8/netoopsctl.8.gz usr/share/man/man1/catcher.1.gz \
		usr/lib/systemd/system/netoops-catcher.service usr/lib/systemd/system/netoopsctl-follow@.service \
		usr/share/bash-completion/completions/netoopsctl usr/share/zsh/vendor-completions/_netoopsctl \
		usr/lib/modules-load.d/netoops.conf usr/share/doc/netoops-dkms/README.Debian.gz; do
		[[ -f $work/$f ]] || die "$SUITE: /$f is missing after the install"
	done
	if [[ -x $work/usr/bin/systemd-analyze ]]; then
		inroot "$work" systemd-analyze verify --man=no /usr/lib/systemd/system/netoops-catcher.service \
			/usr/lib/systemd/system/netoopsctl-follow@192.0.2.10.service >"$art.tmp/systemd-analyze.txt" 2>&1 ||
			{ cat "$art.tmp/systemd-analyze.txt" >&2; die "$SUITE: systemd-analyze verify failed on the units"; }
	fi

	# PREEMPT_RT: DKMS skipped it, and a build by hand is refused.
	if [[ -n $rt_abi ]]; then
		check "dkms built netoops for the PREEMPT_RT kernel $rt_abi" \
			bash -c "! grep -q ', $rt_abi, ' '$art.tmp/dkms-status.txt'"
		inroot "$work" sh -c "cp -a /usr/src/netoops-$VERSION /tmp/rt && make -C /tmp/rt KDIR=/usr/src/linux-headers-$rt_abi" \
			>"$art.tmp/rt-build.log" 2>&1 && die "$SUITE: a manual build for $rt_abi succeeded"
		check "the manual build for $rt_abi did not stop with the PREEMPT_RT message: $(tail -n 3 "$art.tmp/rt-build.log")" \
			grep -q 'netoops: PREEMPT_RT kernels are not supported' "$art.tmp/rt-build.log"
	fi

	# LKDTM, against the same headers.
	rm -rf "$work/tmp/lkdtm"
	mkdir -p "$work/tmp/lkdtm"
	cp "$src"/*.[ch] "$work/tmp/lkdtm/"
	cp "$src/Makefile" "$work/tmp/lkdtm/Makefile.lkdtm"
	cp qemu/stock/lkdtm/Kbuild qemu/stock/lkdtm/cr4.[ch] "$work/tmp/lkdtm/"
	inroot "$work" make -C "/usr/src/linux-headers-$abi" M=/tmp/lkdtm modules >"$art.tmp/lkdtm-build.log" 2>&1 ||
		{ tail -n 20 "$art.tmp/lkdtm-build.log" >&2; die "$SUITE: building LKDTM failed"; }
	cp "$work/tmp/lkdtm/lkdtm.ko" "$art.tmp/lkdtm.ko"

	# The key DKMS signed with, enrolled as a MOK in a copy of OVMF's
	# variables with Microsoft's keys (and Secure Boot on).
	[[ -f $work/var/lib/dkms/mok.pub ]] || die "$SUITE: DKMS made no signing key (/var/lib/dkms/mok.pub)"
	inroot "$work" openssl x509 -inform der -in /var/lib/dkms/mok.pub >"$art.tmp/mok.pem"
	enroll_mok "$art.tmp/mok.pem" "$art.tmp/OVMF_VARS.fd"

	# The kernel and its own modules.
	cp "$work/boot/vmlinuz-$abi" "$art.tmp/vmlinuz"
	cp "$work/boot/config-$abi" "$art.tmp/config"
	: >"$art.tmp/modules"
	for d in $(modules_for "$work" "$abi" "${GUEST_MODULES[@]}"); do
		ko=$(basename "$d")
		ko=${ko%.xz}; ko=${ko%.zst}; ko=${ko%.gz}
		ko_out "$work/lib/modules/$abi/$d" "$art.tmp/$ko"
		echo "$ko" >>"$art.tmp/modules"
	done
	printf '%s\n' lkdtm.ko netoops.ko >>"$art.tmp/modules"

	# Removing the packages removes the module.
	inroot "$work" apt-get remove -y netoops-dkms netoops >"$art.tmp/remove.log" 2>&1 ||
		{ tail -n 20 "$art.tmp/remove.log" >&2; die "$SUITE: apt-get remove failed"; }
	[[ -z $(compgen -G "$work/lib/modules/$abi/updates/dkms/netoops.ko*" || true) ]] ||
		die "$SUITE: netoops.ko is still installed after apt-get remove netoops-dkms"
	[[ -z $(inroot "$work" dkms status netoops 2>/dev/null) ]] || die "$SUITE: dkms still lists netoops after the removal"
	[[ ! -e $work/usr/sbin/netoopsctl ]] || die "$SUITE: netoopsctl is still there after apt-get remove netoops"

	{
		echo "suite:    $SUITE"
		echo "kernel:   $abi ($(root_versions "$work" | awk -v p="linux-image-$abi" '$1 == p { print $2 }'))"
		echo "dkms:     $(root_versions "$work" | awk '$1 == "dkms" { print $2 }')"
		echo "netoops:  $VERSION"
		echo "lkdtm:    $(cat "$src/.done")"
		grep -E '^(vermagic|srcversion|signer):' "$art.tmp/modinfo.txt" | sed 's/^/module:   /'
		[[ -z $rt_abi ]] || echo "rt:       $rt_abi skipped by DKMS, manual build refused"
		echo "modules:  $(tr '\n' ' ' <"$art.tmp/modules")"
	} >"$art.tmp/info.txt"
	echo "$key" >"$art.tmp/key"
	rm -rf "$art" "$work"
	mv "$art.tmp" "$art"
	rm -rf "${OUT:?}/$abi"
	mkdir -p "$OUT"
	cp -a "$art" "$OUT/$abi"
	say "$SUITE: $abi done in $(( $(date +%s) - start ))s: out/stock/$abi"
}

suites=("$@")
[[ ${#suites[@]} -gt 0 ]] || suites=(bookworm trixie sid)
mkdir -p "$OUT"
# The Secure Boot scenario's firmware and boot chain.
rm -rf "$OUT/sb" && mkdir -p "$OUT/sb"
sb=($(sb_dir))
cp "${sb[0]}/usr/share/OVMF/OVMF_CODE_4M.secboot.fd" "$OUT/sb/"
cp "${sb[1]}/usr/lib/shim/shimx64.efi.signed" "$OUT/sb/shimx64.efi"
cp "${sb[2]}/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$OUT/sb/grubx64.efi"
for d in "${sb[@]}"; do echo "$(basename "$d")"; done >"$OUT/sb/versions"
for s in "${suites[@]}"; do
	build_suite "$s"
done
# The kernels the QEMU suite boots, in order.
: >"$OUT/kernels.tmp"
for s in "${suites[@]}"; do
	newest_abi "$s" >>"$OUT/kernels.tmp"
done
mv "$OUT/kernels.tmp" "$OUT/kernels"
