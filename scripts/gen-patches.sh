#!/usr/bin/env bash
# Generate the kernel series from driver/ (the driver's one source) for one
# base tree, or check that the committed series is what it generates.
#
# Usage: scripts/gen-patches.sh [--check] BASE PRISTINE_TREE
#        scripts/gen-patches.sh --driver BASE   (netoops.c of BASE's series)
#   BASE           7.2 (mainline: patches/) or 6.12 (LTS: patches/6.12/)
#   PRISTINE_TREE  an unpacked, unmodified kernel tree of that base
#   --check        generate into a temporary directory and fail (exit 1,
#                  with a diff) if the committed series differs
#
# The series (messages in patches/msg/):
#   0001 net: netoops: ...       drivers/net/netoops.c, Kconfig, Makefile,
#                                MAINTAINERS
#   0002 Documentation: ...      Documentation/networking/netoops.rst, index,
#                                its MAINTAINERS line
#
# The two bases differ in one place of netoops.c, applied here and nowhere
# else: register_sysctl() takes a const table from 6.13 on; 6.12's takes a
# mutable one, so the 6.12 series drops that const.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHECK=0
if [[ ${1:-} == --check ]]; then CHECK=1; shift; fi
# --driver BASE: print driver/netoops.c as the series for BASE has it.
if [[ ${1:-} == --driver ]]; then DRIVER_ONLY=1; shift; set -- "${1:-}" /; fi
[[ $# -eq 2 ]] || { echo "usage: $0 [--check] BASE PRISTINE_TREE" >&2; exit 2; }
BASE=$1 PRISTINE=$2
case $BASE in
7.2) DEST=$REPO/patches ;;
6.12) DEST=$REPO/patches/6.12 ;;
*) echo "gen-patches: unknown base $BASE (7.2 or 6.12)" >&2; exit 2 ;;
esac
if [[ ${DRIVER_ONLY:-0} == 1 ]]; then
	case $BASE in
	6.12) sed 's/^static const struct ctl_table netoops_sysctl_table\[\]/static struct ctl_table netoops_sysctl_table[]/' \
		"$REPO/driver/netoops.c" ;;
	*) cat "$REPO/driver/netoops.c" ;;
	esac
	exit 0
fi
[[ -f $PRISTINE/MAINTAINERS && -f $PRISTINE/drivers/net/Kconfig ]] ||
	{ echo "gen-patches: $PRISTINE is not a kernel tree" >&2; exit 1; }

# driver/netoops.c as it is in the series for BASE.
driver_for_base() {
	bash "${BASH_SOURCE[0]}" --driver "$BASE"
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
G=$WORK/git
mkdir -p "$G"
export GIT_AUTHOR_NAME="netoops developers" GIT_AUTHOR_EMAIL="dev@netoops.invalid"
export GIT_COMMITTER_NAME="netoops developers" GIT_COMMITTER_EMAIL="dev@netoops.invalid"
export GIT_AUTHOR_DATE="2026-12-01T09:00:00+0000" GIT_COMMITTER_DATE="2026-12-01T09:00:00+0000"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
git -C "$G" init -q
for f in MAINTAINERS drivers/net/Kconfig drivers/net/Makefile Documentation/networking/index.rst; do
	mkdir -p "$G/$(dirname "$f")"
	cp "$PRISTINE/$f" "$G/$f"
done
git -C "$G" add -A
git -C "$G" commit -q -m base

# Edits to the files both bases have, by anchor (python: exact, or fail).
python3 - "$G" "$REPO/patches/msg" <<'PY'
import sys, pathlib
g = pathlib.Path(sys.argv[1]); msg = pathlib.Path(sys.argv[2])

def edit(path, fn):
    p = g / path
    p.write_text(fn(p.read_text()))

def kconfig(s):
    anchor = "config NETPOLL\n\tdef_bool NETCONSOLE\n"
    assert s.count(anchor) == 1, "drivers/net/Kconfig: no NETPOLL anchor"
    return s.replace(anchor, (msg / "Kconfig").read_text() + "\n" + anchor)

def makefile(s):
    anchor = "obj-$(CONFIG_NETCONSOLE) += netconsole.o\n"
    assert s.count(anchor) == 1, "drivers/net/Makefile: no netconsole anchor"
    return s.replace(anchor, anchor + "obj-$(CONFIG_NETOOPS) += netoops.o\n")

def maintainers(s, docs):
    lines = s.split("\n")
    entry = (msg / "MAINTAINERS").read_text().rstrip("\n").split("\n")
    if not docs:
        entry = [l for l in entry if "Documentation/" not in l]
    # Sections are a title line followed by "X:\t" lines; insert NETOOPS
    # before the first title after NETFILTER that sorts after it.
    start = lines.index("NETFILTER")
    for i in range(start + 1, len(lines) - 1):
        t = lines[i]
        if t and not t[1:2] == ":" and lines[i + 1][1:3] == ":\t" and t > "NETOOPS":
            return "\n".join(lines[:i] + entry + [""] + lines[i:])
    raise SystemExit("MAINTAINERS: no place for NETOOPS")

def index(s):
    anchor = "   netconsole\n"
    assert s.count(anchor) == 1, "Documentation/networking/index.rst: no netconsole"
    return s.replace(anchor, anchor + "   netoops\n")

edit("drivers/net/Kconfig", kconfig)
edit("drivers/net/Makefile", makefile)
m = (g / "MAINTAINERS").read_text()
(g / "MAINTAINERS").write_text(maintainers(m, False))
(g / "MAINTAINERS.new").write_text(maintainers(m, True))
(g / "Documentation/networking/index.rst.new").write_text(index((g / "Documentation/networking/index.rst").read_text()))
PY

driver_for_base >"$G/drivers/net/netoops.c"
# Patch 2's edit waits in index.rst.new.
mv "$G/Documentation/networking/index.rst.new" "$WORK/index.rst"
mv "$G/MAINTAINERS.new" "$WORK/MAINTAINERS"
git -C "$G" add drivers MAINTAINERS
git -C "$G" commit -q -F "$REPO/patches/msg/0001.msg"

cp "$WORK/index.rst" "$G/Documentation/networking/index.rst"
cp "$REPO/driver/netoops.rst" "$G/Documentation/networking/netoops.rst"
cp "$WORK/MAINTAINERS" "$G/MAINTAINERS"
git -C "$G" add Documentation MAINTAINERS
git -C "$G" commit -q -F "$REPO/patches/msg/0002.msg"

OUT=$WORK/out
mkdir -p "$OUT"
git -C "$G" -c core.abbrev=12 format-patch -q --no-signature --cover-letter \
	--zero-commit --no-numbered -o "$OUT" HEAD~2
# Numbered subjects ([PATCH n/2]) and our cover letter text.
python3 - "$OUT" "$REPO/patches/msg/cover.msg" <<'PY'
import sys, pathlib, re
out = pathlib.Path(sys.argv[1]); cover = pathlib.Path(sys.argv[2]).read_text()
files = sorted(out.glob("*.patch"))
n = len(files) - 1
for i, f in enumerate(files):
    s = f.read_text()
    s = re.sub(r"^Subject: \[PATCH\]", "Subject: [PATCH %d/%d]" % (i, n), s, count=1, flags=re.M)
    if i == 0:
        subj, _, body = cover.partition("\n\n")
        s = s.replace("*** SUBJECT HERE ***", subj.strip())
        s = s.replace("*** BLURB HERE ***\n", body)
    f.write_text(s)
PY
(cd "$OUT" && ls *.patch | grep -v '^0000-' >series)

if [[ $CHECK -eq 1 ]]; then
	if diff -ru -x 6.12 -x msg -x README.md "$DEST" "$OUT" >"$WORK/diff"; then
		echo "gen-patches: $DEST is what driver/ generates for $BASE"
		exit 0
	fi
	cat "$WORK/diff" >&2
	echo "gen-patches: $DEST differs from what driver/ generates for $BASE; run scripts/gen-patches.sh $BASE <tree>" >&2
	exit 1
fi
mkdir -p "$DEST"
find "$DEST" -maxdepth 1 \( -name '*.patch' -o -name series \) -delete
cp "$OUT"/* "$DEST/"
echo "gen-patches: wrote $(ls "$OUT" | wc -l) files to ${DEST#"$REPO"/}"
