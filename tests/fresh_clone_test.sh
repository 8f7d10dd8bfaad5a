#!/usr/bin/env bash
# Both README commands work from a fresh `git clone` into a temporary folder:
#   ./scripts/run  starts the daemon (checked through /healthz, then SIGTERM)
#   ./scripts/test passes (in quick mode: no lint, no sanitizer pass, no recursion into this
#                  test), on one suite per outside part it sets up: the authorization
#                  server and resource server (npm), PostgreSQL, the MCP SDK and the
#                  conformance suite (Node 22). The run that started this test runs them all.
set -euo pipefail
source_dir=$1
work=$(mktemp -d /tmp/latchkey-clone-XXXXXX)
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet "$source_dir" "$work/latchkey"
cd "$work/latchkey"
echo "cloned $(git rev-parse --short HEAD) into $work/latchkey"

# 1. The run command: set up, build, serve on the embedded store.
export LATCHKEY_DATA_DIR="$work/data"
./scripts/run --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 1200); do  # bounded: up to 10 minutes for a cold build
  port=$(grep -oE 'serving on http://127\.0\.0\.1:[0-9]+' "$work/serve.log" | grep -oE '[0-9]+$' || true)
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; echo "scripts/run exited early"; exit 1; }
  sleep 0.5
done
[[ -n "$port" ]] || { cat "$work/serve.log"; echo "scripts/run never started serving"; exit 1; }
health=$(curl -fsS "http://127.0.0.1:$port/healthz")
echo "healthz: $health"
[[ "$health" == *'"ok"'* ]] || { echo "unexpected /healthz answer"; exit 1; }
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=
[[ -f "$LATCHKEY_DATA_DIR/latchkey.db" && -f "$LATCHKEY_DATA_DIR/master.key" ]] || { echo "no store created"; exit 1; }

# 2. The test command.
LATCHKEY_TEST_QUICK=1 LATCHKEY_TEST_ONLY='^(GatewayTest\.|PostgresStoreTest\.|Transports/McpTest\..*/http|mcp_conformance)' \
  ./scripts/test
echo "fresh clone: both README commands work"
