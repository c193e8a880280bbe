#!/usr/bin/env bash
# Browser tests of the dashboard and of browser conversions (t.js and the
# pixel on landing pages the test serves itself): Debian's chromium
# (installed with apt-get when missing), driven by playwright-core from
# ui-tests/, against a real `clickledger serve --demo` on a temporary
# database and a free port.
# The binary: CLICKLEDGER_BIN, else the newer of target/release and
# target/debug (built when neither exists). Screenshots and each page's
# server time: target/ui-screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi

# CLICKLEDGER_BIN, else the newer of the release and debug binaries (CI
# builds the release one just before), else a debug build.
bin="${CLICKLEDGER_BIN:-}"
if [ -z "$bin" ]; then
  for b in target/release/clickledger target/debug/clickledger; do
    if [ -x "$b" ] && { [ -z "$bin" ] || [ "$b" -nt "$bin" ]; }; then bin="$b"; fi
  done
fi
if [ -z "$bin" ]; then
  cargo build -p clickledger
  bin=target/debug/clickledger
fi
echo "ui-tests: $bin"

(cd ui-tests && npm ci --no-audit --no-fund --silent)

tmp="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export BASE="http://127.0.0.1:$port"
export ADMIN_EMAIL="admin@example.com" ADMIN_PASSWORD="correct horse battery"
export SCREENSHOTS="$root/target/ui-screenshots"
export ADMIN_KEY="ui-tests-admin-key"
CLICKLEDGER_ADMIN_KEY="$ADMIN_KEY" "$bin" serve --demo --db "$tmp/ui.db" \
  --listen "127.0.0.1:$port" --public-url "$BASE" >"$tmp/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$BASE/healthz" >/dev/null || { cat "$tmp/server.log"; exit 1; }
printf '%s\n' "$ADMIN_PASSWORD" | "$bin" user add --db "$tmp/ui.db" \
  --email "$ADMIN_EMAIL" --role admin --password-stdin
(cd ui-tests && npm test) || { echo "--- server log"; tail -50 "$tmp/server.log"; exit 1; }
