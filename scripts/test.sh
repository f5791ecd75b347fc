#!/usr/bin/env bash
# Install what the tests need, then lint, type-check and run every test against real parts.
# Extra arguments go to pytest.
source "$(dirname "$0")/setup.sh"
apt_install "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
python_env "test"
esphome_env
cd "$ROOT"
echo "== ruff" && "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check .
echo "== mypy" && "$VENV/bin/mypy"
echo "== layers" && "$VENV/bin/lint-imports" --no-cache
echo "== pytest" && exec "$VENV/bin/pytest" "$@"
