#!/usr/bin/env bash
# lintian (this machine's, Debian 12's) on the packages of make deb: fails
# on any error; warnings and infos are listed. The report is
# out/deb/lintian.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
debs=(out/deb/*.deb)
[[ ${#debs[@]} -gt 0 ]] || { echo "deb-lint: no packages in out/deb: run make deb" >&2; exit 1; }
if ! command -v lintian >/dev/null; then
	[[ $(id -u) -eq 0 ]] || { echo "deb-lint: lintian is missing (apt-get install lintian)" >&2; exit 1; }
	echo "==> apt-get install lintian" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lintian >&2 || {
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lintian >&2
	}
fi
set +e
lintian --fail-on error --display-info "${debs[@]}" 2>&1 |
	grep -v 'running with root privileges is not recommended' | tee out/deb/lintian.txt
rc=${PIPESTATUS[0]}
set -e
# The overrides (and why) for the record; lintian 2.116 exits 2 when it
# shows overridden errors, so this run is not the verdict.
lintian --show-overrides "${debs[@]}" 2>&1 | grep -E '^(O|N):' | tee -a out/deb/lintian.txt || true
echo "deb-lint: lintian $(lintian --version | awk '{print $2}'): $(grep -c '^E:' out/deb/lintian.txt || true) errors, $(grep -c '^W:' out/deb/lintian.txt || true) warnings (out/deb/lintian.txt)"
exit "$rc"
