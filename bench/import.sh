#!/usr/bin/env bash
# Registry import throughput: 1,000,000 synthetic people into SQLite and, when
# CERTEZA_BENCH_POSTGRES_URL is set (a server URL whose user may create
# databases, e.g. postgres://postgres@127.0.0.1:5432/postgres), into a fresh
# PostgreSQL database `certeza_bench`. Prints the summary line of each import.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
bin=target/release/certeza
"$bin" population generate --count "$count" --seed 7 --out "$work/people.csv"

echo "== SQLite"
"$bin" --data "$work/sqlite" init > /dev/null
"$bin" --data "$work/sqlite" registry import "$work/people.csv"

if [ -n "${CERTEZA_BENCH_POSTGRES_URL:-}" ]; then
    echo "== PostgreSQL"
    psql "$CERTEZA_BENCH_POSTGRES_URL" -q -c "DROP DATABASE IF EXISTS certeza_bench WITH (FORCE)"
    psql "$CERTEZA_BENCH_POSTGRES_URL" -q -c "CREATE DATABASE certeza_bench"
    mkdir -p "$work/postgres"
    printf '[database]\nurl = "%s/certeza_bench"\n' "${CERTEZA_BENCH_POSTGRES_URL%/*}" > "$work/postgres/certeza.toml"
    "$bin" --data "$work/postgres" init > /dev/null
    "$bin" --data "$work/postgres" registry import "$work/people.csv"
else
    echo "PostgreSQL skipped: set CERTEZA_BENCH_POSTGRES_URL"
fi
