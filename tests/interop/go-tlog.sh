#!/usr/bin/env bash
# Interoperability check of the transparency log against an independent
# implementation: Go's golang.org/x/mod/sumdb/note and sumdb/tlog (Debian's
# golang-go and golang-golang-x-mod-dev, built offline in GOPATH mode).
#
# It builds interop/go-tlog, starts `certeza demo` with a fresh data directory
# on a kernel-chosen local port (with POST /v1/log/entries enabled by a random
# token), runs the Go checker against it (which appends entries until the tree
# spans several tiles, then checks the checkpoint, tiles, entry bundles,
# proofs and receipts, and that tampered data is rejected), runs it again with
# an unrelated verifier key and expects it to fail, stops the demo, and prints
# one summary line. Exits non-zero on any failure.
#
# Uses target/release/certeza if present, else target/debug/certeza
# (CERTEZA_BIN overrides both); it does not build Certeza. Installs the two
# Debian packages if `go` or x/mod is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
started=$SECONDS
summary="go-tlog interop: FAIL"

work="$(mktemp -d)"
server=""
cleanup() {
    status=$?
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill "$server" 2>/dev/null || true
        # Give the demo 10 s to shut down gracefully, then stop it hard.
        for _ in $(seq 1 20); do kill -0 "$server" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
    if [ "$status" -ne 0 ]; then
        echo "$summary ($((SECONDS - started)) s)"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "$*" >&2
    summary="go-tlog interop: FAIL: $*"
    exit 1
}

for tool in curl jq timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

# Go and x/mod from Debian (the Go module proxy is not needed).
xmod=/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog
if ! command -v go >/dev/null 2>&1 || [ ! -d "$xmod" ]; then
    echo "installing golang-go and golang-golang-x-mod-dev"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-golang-x-mod-dev >/dev/null; then
        $sudo apt-get update -qq
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-golang-x-mod-dev >/dev/null
    fi
fi
[ -d "$xmod" ] || die "$xmod is missing after installing golang-golang-x-mod-dev"

# Build (and unit-test) the checker offline, in GOPATH mode against Debian's sources.
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/gocache" GOFLAGS="" GOPROXY=off GOSUMDB=off
(cd interop/go-tlog && go vet . && go test -count=1 . >/dev/null && go build -o "$work/go-tlog" .) ||
    die "building interop/go-tlog failed"
echo "built the Go checker with $(go version | cut -d' ' -f3)"

binary="${CERTEZA_BIN:-}"
if [ -z "$binary" ]; then
    if [ -x target/release/certeza ]; then binary=target/release/certeza; else binary=target/debug/certeza; fi
fi
[ -x "$binary" ] || die "$binary is missing: run cargo build -p certeza first"

# The demo, with synchronous submission enabled so the checker can grow the log.
token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
CERTEZA_LOG__SUBMIT_TOKEN="$token" "$binary" demo --data "$work/demo" --listen 127.0.0.1:0 --people 300 \
    >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 240); do
    [ -s "$work/demo/demo.json" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; die "certeza demo exited early"; }
    sleep 0.5
done
[ -s "$work/demo/demo.json" ] || { cat "$work/server.log" >&2; die "certeza demo wrote no demo.json in 120 s"; }
base_url="$(jq -r .base_url "$work/demo/demo.json")"
log_url="$(jq -r .log.url "$work/demo/demo.json")"
vkey="$(jq -r .log.vkey "$work/demo/demo.json")"
origin="$(jq -r .log.origin "$work/demo/demo.json")"
ready=""
for _ in $(seq 1 120); do
    if curl -fsS -m 2 "$base_url/healthz" >/dev/null 2>&1 && curl -fsS -m 2 "$log_url/checkpoint" >/dev/null 2>&1; then
        ready=1
        break
    fi
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; die "certeza demo exited early"; }
    sleep 0.5
done
[ -n "$ready" ] || { cat "$work/server.log" >&2; die "no /healthz and /log/checkpoint at $base_url in 60 s"; }
echo "certeza demo ($binary) at $base_url, log key $vkey"

# The real key: every check must pass. 520 more entries make two full tiles
# and a partial one at level 0 and a partial tile at level 1.
if ! timeout 180 "$work/go-tlog" -log "$log_url" -vkey "$vkey" -origin "$origin" -submit 520 -token "$token" \
    >"$work/check.out" 2>&1; then
    cat "$work/check.out"
    die "$(grep -m1 '^FAIL' "$work/check.out" || echo 'the Go checker failed')"
fi
cat "$work/check.out"
pass_line="$(grep -m1 '^PASS' "$work/check.out")"

# An unrelated key with the same name: the checker must refuse the checkpoint.
wrong="$("$work/go-tlog" -random-vkey "${vkey%%+*}")"
set +e
timeout 60 "$work/go-tlog" -log "$log_url" -vkey "$wrong" -tamper=false >"$work/wrong.out" 2>&1
code=$?
set -e
if [ "$code" -ne 1 ] || ! grep -q '^FAIL: checkpoint .* does not verify with key' "$work/wrong.out"; then
    cat "$work/wrong.out"
    die "the checker did not reject the checkpoint under an unrelated key (exit $code)"
fi
echo "ok   a wrong key is rejected: $(head -n1 "$work/wrong.out")"

summary="go-tlog interop: PASS (${pass_line#PASS: }; wrong key rejected)"
echo "$summary in $((SECONDS - started)) s"
