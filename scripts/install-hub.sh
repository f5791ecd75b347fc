#!/usr/bin/env bash
# Install (or upgrade) the smartstore hub on this Pi from a release wheel, as root:
#
#   sudo bash install-hub.sh smartstore-0.2.0-py3-none-any.whl --store S1 --inventory inventory.yaml
#
# Raspberry Pi OS or Debian bookworm (arm64, amd64). Each release gets its own virtualenv in
# /opt/smartstore/releases/<version>; then that release's `smartstore install-hub` does the rest
# (docs/install.md): system user, /etc/smartstore, /var/lib/smartstore, systemd units, and on
# an upgrade the database migrated (backed up first) before /opt/smartstore/current switches.
# Arguments after the wheel go to `smartstore install-hub` (see its --help).
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: install-hub.sh smartstore-<version>-py3-none-any.whl --store ID --inventory FILE" >&2
  exit 2
fi
wheel="$(realpath "$1")"; shift
if [ "$(id -u)" -ne 0 ]; then
  exec sudo bash "$0" "$wheel" "$@"
fi

# The broker, its password tool, Python's venv module, and openssl (the store CA, --tls).
missing=()
for pkg in python3-venv mosquitto openssl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The wheel's file name carries its version (PEP 427: name-version-...).
version="$(basename "$wheel" | cut -d- -f2)"
release="/opt/smartstore/releases/$version"
if [ ! -f "$release/.complete" ]; then
  # A venv cannot be moved once made: built in place, marked complete only when pip succeeded,
  # so an interrupted install is made again on the next run rather than half used.
  rm -rf "$release"
  python3 -m venv "$release"
  "$release/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"
  touch "$release/.complete"
fi
exec "$release/bin/smartstore" install-hub --release "$release" "$@"
