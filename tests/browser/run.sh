#!/usr/bin/env bash
# Browser tests: starts `certeza demo` on a free local port with a fresh data
# directory, waits for its demo.json, then runs the node tests in this folder
# against it with headless Chromium. Screenshots and the server's output go to
# target/browser-artifacts/. Needs /usr/bin/chromium (Debian `chromium`) and
# `npm ci --prefix tests/browser`. Uses target/debug/certeza (CERTEZA_BIN
# overrides it), building it first if it is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

binary="${CERTEZA_BIN:-target/debug/certeza}"
if [ ! -x "$binary" ]; then
    cargo build -p certeza
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    echo "tests/browser/node_modules is missing: run npm ci --prefix tests/browser" >&2
    exit 1
fi

artifacts="$root/target/browser-artifacts"
rm -rf "$artifacts"
mkdir -p "$artifacts"
data="$(mktemp -d)"
port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"

"$binary" demo --data "$data/demo" --listen "127.0.0.1:${port}" --people 300 >"$artifacts/server.log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
    [ -s "$data/demo/demo.json" ] && break
    if ! kill -0 "$server" 2>/dev/null; then
        echo "certeza demo exited early; its output:" >&2
        cat "$artifacts/server.log" >&2
        exit 1
    fi
    sleep 0.5
done
if [ ! -s "$data/demo/demo.json" ]; then
    echo "certeza demo did not write demo.json in 60 s; its output:" >&2
    cat "$artifacts/server.log" >&2
    exit 1
fi

cd tests/browser
CERTEZA_DEMO_JSON="$data/demo/demo.json" CERTEZA_ARTIFACTS="$artifacts" \
    node --test --test-concurrency=1 --test-reporter=spec
