#!/usr/bin/env bash
# Verification API throughput and latency on a 1,000,000-person registry, next
# to the same server's /healthz rate, with the load generator on the same
# machine: `certeza bench http` (closed loop for saturation; open loop at a
# constant rate for p99). SQLite always; PostgreSQL too when
# CERTEZA_BENCH_POSTGRES_URL is set (a server URL whose user may create
# databases). Every run also prints the server's CPU time per request, by
# thread (`--server-pid`), which is steadier than requests/s on a shared
# machine. Usage: bench/verification.sh [PEOPLE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
seconds="${2:-10}"
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cargo build --release --quiet -p certeza
bin=target/release/certeza
"$bin" population generate --count "$count" --seed 7 --out "$work/people.csv"

run_backend() {
    local name="$1" data="$2" port="$3"
    "$bin" --data "$data" init > /dev/null
    "$bin" --data "$data" registry import "$work/people.csv" 2>&1 | tail -n 2 | head -n 1
    key="$("$bin" --data "$data" rp add "Banco Bench" --purposes apertura-de-cuenta --field-booleans \
        --rate 1000000 --daily-quota 1000000000 --enumeration-threshold 1.0 | tail -n 1)"
    # SQLite: a copy of the registry as imported, for a last run on a fresh server.
    if [ "$name" = sqlite ]; then cp -r "$data" "$data.fresh"; sync; fi
    "$bin" --data "$data" serve --listen "127.0.0.1:$port" > "$work/$name.log" 2>&1 &
    server=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.1; done
    echo "== $name"
    "$bin" bench http --target healthz --address "127.0.0.1:$port" --connections 64 --seconds "$seconds" --server-pid "$server"
    # Saturation three times with 256 connections: on a shared machine one
    # run can be a fifth off the next.
    for connections in 64 256 256 256; do
        "$bin" bench http --target verifications --address "127.0.0.1:$port" --key "$key" \
            --people "$work/people.csv" --connections "$connections" --seconds "$seconds" --server-pid "$server"
    done
    for rate in 2000 5000 8000 10000; do
        "$bin" bench http --target verifications --address "127.0.0.1:$port" --key "$key" \
            --people "$work/people.csv" --connections 256 --rate "$rate" --seconds "$seconds" --server-pid "$server"
    done
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
    if [ "$name" = sqlite ]; then
        # The runs above leave hundreds of thousands of verifications behind;
        # the steady 10,000/s again on the registry as imported, three times,
        # each on its own fresh copy and server.
        for round in 1 2 3; do
            rm -rf "$data.run"; cp -r "$data.fresh" "$data.run"; sync
            "$bin" --data "$data.run" serve --listen "127.0.0.1:$port" > "$work/$name.fresh.log" 2>&1 &
            server=$!
            for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.1; done
            echo "== $name, a fresh server on the registry as imported ($round of 3)"
            "$bin" bench http --target verifications --address "127.0.0.1:$port" --key "$key" \
                --people "$work/people.csv" --connections 256 --rate 10000 --seconds "$seconds" --server-pid "$server"
            kill "$server"; wait "$server" 2>/dev/null || true; server=""
        done
    fi
}

run_backend sqlite "$work/sqlite" 18181
if [ -n "${CERTEZA_BENCH_POSTGRES_URL:-}" ]; then
    psql "$CERTEZA_BENCH_POSTGRES_URL" -q -c "DROP DATABASE IF EXISTS certeza_bench_verify WITH (FORCE)"
    psql "$CERTEZA_BENCH_POSTGRES_URL" -q -c "CREATE DATABASE certeza_bench_verify"
    mkdir -p "$work/postgres"
    printf '[database]\nurl = "%s/certeza_bench_verify"\n' "${CERTEZA_BENCH_POSTGRES_URL%/*}" > "$work/postgres/certeza.toml"
    run_backend postgres "$work/postgres" 18182
else
    echo "PostgreSQL skipped: set CERTEZA_BENCH_POSTGRES_URL"
fi
