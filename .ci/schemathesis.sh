#!/usr/bin/env bash
# Schema-driven tests of the HTTP API: schemathesis reads the served
# /api/v1/openapi.json and sends every operation generated input (valid
# and invalid); no answer may be a 5xx, and every answer must have a
# documented status, content type and schema.
#
#   .ci/schemathesis.sh                 # against target/release/clickledger
#   CLICKLEDGER_BIN=target/debug/clickledger .ci/schemathesis.sh
#   SCHEMATHESIS_EXAMPLES=100 .ci/schemathesis.sh   # a longer run
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${CLICKLEDGER_BIN:-target/release/clickledger}
VERSION=4.32.5
VENV=${SCHEMATHESIS_VENV:-$HOME/.cache/clickledger/schemathesis-$VERSION}
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-50}
KEY=ck_schemathesis_fixed_admin_key_0123456789

if [ ! -x "$VENV/bin/schemathesis" ]; then
    echo "installing schemathesis $VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$VERSION"
fi

DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
CLICKLEDGER_ADMIN_KEY=$KEY "$BIN" serve --db "$DIR/schemathesis.db" --listen "127.0.0.1:$PORT" \
    --demo >"$DIR/server.log" 2>&1 &
SERVER=$!
stop() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$DIR"
}
trap stop EXIT

for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$DIR/server.log"; exit 1; }
    sleep 0.1
done

# The demo's link, so the tracking link is also tried with an id that exists.
status=0
"$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
    --header "Authorization: Bearer $KEY" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$EXAMPLES" \
    --workers 2 \
    --seed 14 \
    --generation-database none \
    --no-color \
    --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-target/schemathesis}" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log (last 40 lines) ---"
    tail -n 40 "$DIR/server.log"
fi
exit "$status"
