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

# The Redis reasoning store's tests (tests/test_reasoning_store_redis.py) use the Redis at
# MINIMAX_PARSER_REDIS_URL; without one, a redis-server from PATH is started here on a free
# loopback port, without persistence, and stopped when this script exits. Without either they
# fail, saying so; MINIMAX_PARSER_SKIP_REDIS=1 skips them.
redis_pid=""
redis_dir=""
stop_redis() {
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    if [ -n "$redis_dir" ]; then
        rm -rf "$redis_dir"
    fi
    redis_pid=""
    redis_dir=""
}
start_redis() {
    redis_dir=$(mktemp -d)
    trap stop_redis EXIT
    local attempt port
    for attempt in 1 2 3; do  # another process may take the port between choosing and binding
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
            --dir "$redis_dir" --logfile "$redis_dir/redis.log" </dev/null >/dev/null 2>&1 &
        redis_pid=$!
        for _ in $(seq 100); do
            if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
                export MINIMAX_PARSER_REDIS_URL="redis://127.0.0.1:$port/0"
                echo "redis-server $redis_pid at $MINIMAX_PARSER_REDIS_URL (attempt $attempt)"
                return 0
            fi
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop_redis
        redis_dir=$(mktemp -d)
    done
    echo "redis-server did not start on a loopback port" >&2
    exit 1
}

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
