#!/usr/bin/env bash
# Runs the Playwright suite inside a loopback-only network namespace (no route off this machine), as
# RECIPES.md prescribes for WebRTC tests. Falls back to the host network, with a warning, where unshare
# is not permitted (not root): then the tests still only address 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
run=(npx playwright test -c e2e/playwright.config.ts "$@")
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  exec unshare -n -- sh -c 'ip link set lo up && exec "$@"' sh "${run[@]}"
fi
echo "e2e: cannot create a network namespace here; running on the host network (loopback addresses only)" >&2
exec "${run[@]}"
