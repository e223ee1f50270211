#!/usr/bin/env bash
# Transparency-log throughput: the engine in process (1,000,000 entries by
# default, SQLite on disk), then durable, acknowledged entries end to end over
# HTTP (POST /v1/log/entries, each answer waiting for its signed checkpoint
# and carrying its tlog-proof receipt) with 1,024, 2,048 and 4,096 keep-alive
# connections, the load generator on the same machine.
# Usage: bench/log.sh [ENTRIES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
entries="${1:-1000000}"
seconds="${2:-10}"
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cargo build --release --quiet -p certeza
bin=target/release/certeza
"$bin" --data "$work/engine" init > /dev/null
"$bin" --data "$work/engine" log bench-engine --entries "$entries" | tail -n 1
for connections in 1024 2048 4096; do
    data="$work/e2e-$connections"
    "$bin" --data "$data" init > /dev/null
    CERTEZA_LOG=warn CERTEZA_LOG__SUBMIT_TOKEN=benchtoken "$bin" --data "$data" serve --listen 127.0.0.1:18192 > "$work/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18192/healthz > /dev/null && break; sleep 0.1; done
    "$bin" bench http --target log-entries --address 127.0.0.1:18192 --key benchtoken \
        --connections "$connections" --seconds "$seconds"
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
