# Sourced by scripts/demo.sh and scripts/test.sh: installs what is missing, idempotently.
# Works on Debian 12 and Raspberry Pi OS (bookworm), as root or with sudo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "smartstore: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

python_env() {
  # $1: the pip extra to install ("" for the product only)
  local extra="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$VENV"; }
  fi
  local stamp="$VENV/.installed-${extra:-base}"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT${extra:+[$extra]}"
    touch "$stamp"
  fi
}

esphome_env() {
  # ESPHome pins many packages of its own: it gets a virtualenv of its own, used only to
  # validate the generated device configs (`esphome config`), never to flash from CI.
  local venv="$ROOT/.venv-esphome" version="2026.6.5"
  if [ ! -f "$venv/.installed-$version" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "esphome==$version"
    touch "$venv/.installed-$version"
  fi
}

# The real parts the project starts itself: the broker, its command-line clients, InfluxDB;
# libzbar0 for reading QR codes (kiosk camera), a CJK font for the printable table QR sheet.
RUNTIME_PACKAGES=(python3 python3-venv mosquitto mosquitto-clients influxdb libzbar0 fonts-wqy-zenhei)
# What the tests add: Chromium for the board,
# docker-compose (only to validate docker-compose.yml; no engine runs here), PostgreSQL for
# the HQ service's tests (they start their own server: cloud/testing.py), faketime to run a
# hub whose clock is off (a Pi without a real-time clock after a power cut), systemd for
# systemd-analyze (verifies the hub's units; nothing is started by it: a container's PID 1
# stays what it was).
TEST_PACKAGES=(chromium docker-compose postgresql faketime systemd openssl)

# Debian's package starts system-wide services; the project runs its own instances on free
# ports, so these are not needed (and are left alone if an operator runs them on purpose).
