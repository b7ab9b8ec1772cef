#!/usr/bin/env bash
# The whole test suite, as the README and CI run it:
#   pip install -r requirements-dev.txt && bash scripts/test.sh
# Rust: format, clippy (core and Python binding), tests. Python: build and install the package,
# lint, type-check, check the stub against the binary, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy (core, then with the Python binding)"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --features python -- -D warnings

step "cargo test"
cargo test

step "build and install the package (release build)"
python3 -m pip install --quiet --no-deps --force-reinstall .

step "ruff, mypy, stubtest"
ruff check python tests benches
ruff format --check python tests benches --exclude tests/fixtures/make_fixtures.py
python3 -m mypy
python3 -m mypy.stubtest minimax_parser._core

step "pytest"
# Run from outside the source tree so the installed package (with its extension) is imported.
set +e
python3 -m pytest tests benches --benchmark-disable -p no:cacheprovider
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a broken suite, not a pass" >&2
    exit 1
fi
exit "$status"
