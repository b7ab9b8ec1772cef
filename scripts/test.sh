#!/usr/bin/env bash
# The whole test suite, as the README and CI run it:
#   pip install -r requirements-dev.txt && bash scripts/test.sh
# Rust: format, clippy (core and Python binding), tests. Python: build and install the package,
# lint, type-check, check the stub against the binary, run pytest (with a redis-server for the
# Redis reasoning store's tests, see below).
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
python3 -m mypy tests/vllm/*.py
python3 -m mypy tests/sglang/*.py
python3 -m mypy.stubtest minimax_parser._core

# pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
run_pytest() {
    set +e
    "$@"
    local status=$?
    set -e
    if [ "$status" -eq 5 ]; then
        echo "pytest collected no tests: that is a broken suite, not a pass" >&2
        exit 1
    fi
    if [ "$status" -ne 0 ]; then
        exit "$status"
    fi
}

# The Redis reasoning store's tests use the Redis at MINIMAX_PARSER_REDIS_URL (CI's .ci/run
# starts one); without one, a redis-server from PATH is started here (scripts/redis.sh) and
# stopped when this script exits. Without either they fail, saying so;
# MINIMAX_PARSER_SKIP_REDIS=1 skips them.
# shellcheck source=scripts/redis.sh
source scripts/redis.sh

step "redis-server for the reasoning store tests"
if [ "${MINIMAX_PARSER_SKIP_REDIS:-}" = "1" ]; then
    echo "SKIPPED because MINIMAX_PARSER_SKIP_REDIS=1"
elif [ -n "${MINIMAX_PARSER_REDIS_URL:-}" ]; then
    echo "using MINIMAX_PARSER_REDIS_URL"
elif command -v redis-server >/dev/null 2>&1; then
    start_redis
else
    echo "no redis-server on PATH and no MINIMAX_PARSER_REDIS_URL: the Redis tests will fail" \
        "(install redis-server, or set MINIMAX_PARSER_SKIP_REDIS=1 to skip them)" >&2
fi

step "pytest"
# tests/vllm runs below, under vLLM's own environments (pyproject's norecursedirs skips it here).
run_pytest python3 -m pytest tests benches --benchmark-disable -p no:cacheprovider
stop_redis  # a server started above is not needed past here

if [ "${MINIMAX_PARSER_SKIP_VLLM:-}" = "1" ]; then
    step "vLLM plugin tests: SKIPPED because MINIMAX_PARSER_SKIP_VLLM=1"
else
    step "vLLM plugin tests, against pinned vLLM releases (cached virtualenvs)"
    rm -rf target/wheels
    maturin build --release --quiet -o target/wheels
    for version in 0.32.0 0.11.2; do
        py=$(bash scripts/vllm_env.sh "$version")
        "$py" -m pip install --quiet --no-deps --force-reinstall target/wheels/minimax_parser-*.whl
        step "tests/vllm with vLLM $version"
        run_pytest "$py" -m pytest tests/vllm -p no:cacheprovider -q
    done
fi

# SGLang 0.5.23 lives in vLLM 0.32's cached virtualenv (scripts/vllm_env.sh installs it there with
# --no-deps plus orjson, ipython and traitlets: vLLM's environment has its torch, transformers and
# pydantic). tests/sglang drives SGLang's own plugin loader, argument parser and parsers.
if [ "${MINIMAX_PARSER_SKIP_SGLANG:-}" = "1" ]; then
    step "SGLang integration tests: SKIPPED because MINIMAX_PARSER_SKIP_SGLANG=1"
else
    step "tests/sglang with SGLang 0.5.23 (vLLM 0.32.0's cached virtualenv)"
    if ! ls target/wheels/minimax_parser-*.whl >/dev/null 2>&1; then
        maturin build --release --quiet -o target/wheels
    fi
    py=$(bash scripts/vllm_env.sh 0.32.0)
    "$py" -m pip install --quiet --no-deps --force-reinstall target/wheels/minimax_parser-*.whl
    run_pytest "$py" -m pytest tests/sglang -p no:cacheprovider -q
fi
