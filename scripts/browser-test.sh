#!/bin/bash
# The crash pages in a real browser: Debian's chromium, headless, driven
# from Go (chromedp), as internal/catcher/web/browser_test.go. Installs
# chromium if it is missing (as root); without it the test fails, it is
# never skipped. Screenshots: out/web/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "browser-test: chromium is not installed; as root: apt-get install -y chromium" >&2
		exit 1
	fi
	echo "browser-test: installing chromium" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq chromium >/dev/null
fi
chromium --version >&2 || true
mkdir -p out/web
CGO_ENABLED=0 ${GO:-go} test -count=1 -tags browser -run '^TestBrowser$' -v ./internal/catcher/web
ls -l out/web/*.png >&2
