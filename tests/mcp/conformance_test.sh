#!/usr/bin/env bash
# The official MCP conformance suite (every server scenario, active and pending) against
# mcp_conformance_server. A baseline with no expected failures makes any FAILURE or
# WARNING fail the test. Usage: conformance_test.sh SERVER_BINARY FIXTURES_DIR
set -euo pipefail
server_binary=$1
fixtures=$2
node="$fixtures/node_modules/.bin/node"  # Node 22 from npm: the suite needs >= 22
if [[ ! -x "$node" ]]; then
  echo "conformance_test: $fixtures has no node_modules; run ./scripts/setup --with-fixtures" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$server_binary" 0 >"$work/ready" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
  grep -q READY "$work/ready" && break
  sleep 0.1
done
url=$(awk '/READY/ {print $2}' "$work/ready")
[[ -n "$url" ]] || { echo "the fixture server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }

cat >"$work/baseline.yml" <<'YAML'
# Scenarios expected to fail, with the reason. None.
server: []
YAML
cd "$work"
status=0
timeout 600 "$node" "$fixtures/node_modules/.bin/conformance" server --url "$url" --suite all \
  --expected-failures "$work/baseline.yml" -o "$work/results" || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- failed checks ---" >&2
  grep -rh -B2 -A6 '"status": "\(FAILURE\|WARNING\)"' "$work/results" >&2 || true
  echo "--- server log ---" >&2
  cat "$work/server.log" >&2
fi
exit $status
