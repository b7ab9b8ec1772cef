# Starting and stopping a throwaway redis-server for the Redis reasoning store's tests
# (tests/test_reasoning_store_redis.py), sourced by scripts/test.sh and .ci/run: start_redis runs
# one from PATH on a free loopback port, without persistence, exports its URL as
# MINIMAX_PARSER_REDIS_URL and stops it (removing its folder) when the calling script exits.
# shellcheck shell=bash

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

