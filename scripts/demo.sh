#!/usr/bin/env bash
# Install what is missing and run a demo store: mosquitto, InfluxDB, the hub, call buttons.
# Extra arguments go to `smartstore demo` (see `--help`).
source "$(dirname "$0")/setup.sh"
apt_install "${RUNTIME_PACKAGES[@]}"
python_env ""
cd "$ROOT"
exec "$VENV/bin/smartstore" demo "$@"
