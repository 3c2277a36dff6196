#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv.
# Torch is pinned here, not in the package: `torch==2.13.0` is the CPU build on
# our machines, while the package itself asks for a range so GPU users keep
# their own CUDA build.  Override with DIRVAE_TORCH="torch==X" if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${DIRVAE_VENV:-.venv}"
torch_spec="${DIRVAE_TORCH:-torch==2.13.0}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
stamp="$venv/.dirvae-setup"
want="$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -d' ' -f1) $torch_spec"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$torch_spec"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
    echo "$want" > "$stamp"
fi
