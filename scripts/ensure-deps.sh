#!/usr/bin/env bash
# Makes sure the system packages `npm test` needs are installed (Debian names):
#   chromium (or $CHROME_PATH)  mesa-vulkan-drivers (lavapipe, Deno's WebGPU)  postgresql (server binaries)
#   nats-server  coturn (turnserver)  fonts-dejavu-core  iproute2 (ip)  util-linux (unshare)
# Everything present: exits 0 after a few file and PATH look-ups, no process started. Something missing: as root,
# installs it with apt-get and carries on; otherwise prints the one command to run and exits 1.
# Installing never leaves a relay or broker running: coturn's and nats-server's services are kept from starting
# (policy-rc.d for the install) and disabled; the tests start their own on 127.0.0.1 with explicit flags.
#
# Test hooks (coordinator/ensure-deps.test.ts): MESHWORK_DEPS_ROOT prefixes every file checked or written,
# MESHWORK_DEPS_UID stands in for the user id.
set -euo pipefail

root="${MESHWORK_DEPS_ROOT:-}"
uid="${MESHWORK_DEPS_UID:-$EUID}"
# Services the packages would start on install; ours are started by the tests themselves.
quiet_services=(coturn nats-server)

missing() {
  need=()
  { [ -n "${CHROME_PATH:-}" ] && [ -x "$CHROME_PATH" ]; } || [ -x "$root/usr/bin/chromium" ] || need+=(chromium)
  compgen -G "$root/usr/share/vulkan/icd.d/lvp_icd*.json" >/dev/null || need+=(mesa-vulkan-drivers)
  compgen -G "$root/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
  command -v nats-server >/dev/null || need+=(nats-server)
  command -v turnserver >/dev/null || need+=(coturn)
  [ -e "$root/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" ] || need+=(fonts-dejavu-core)
  command -v ip >/dev/null || need+=(iproute2)
  command -v unshare >/dev/null || need+=(util-linux)
}

missing
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$uid" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}  # needed by npm test (scripts/ensure-deps.sh)"
  exit 1
fi

echo "ensure-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
policy="$root/usr/sbin/policy-rc.d"
if [ ! -e "$policy" ]; then
  # Debian's hook for "may this package start its service now?": 101 says no (invoke-rc.d, deb-systemd-invoke).
  mkdir -p "$(dirname "$policy")"
  printf '#!/bin/sh\n# scripts/ensure-deps.sh, for one apt-get install: no relay or broker starts\ncase "$1" in %s) exit 101;; esac\nexit 0\n' \
    "$(IFS='|'; echo "${quiet_services[*]}")" >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${need[@]}"

# Not at boot either: the packages enable their units even where policy-rc.d kept them from starting now.
for svc in "${quiet_services[@]}"; do
  if command -v systemctl >/dev/null && [ -e "$root/lib/systemd/system/$svc.service" ]; then
    systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
  elif [ -x "$root/etc/init.d/$svc" ]; then
    "$root/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  fi
done

missing
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-deps: Cannot prepare this machine for npm test as ${need[*]} is still missing after apt-get install" >&2
  exit 1
fi
