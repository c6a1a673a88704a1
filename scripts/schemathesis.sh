#!/usr/bin/env bash
# Property-based API test: schemathesis (from PyPI) generates requests from the served
# OpenAPI document and runs every check it has (no 5xx, status codes, content types,
# response schemas and headers, valid data accepted, invalid data refused, auth not
# ignored, unsupported methods, …); scripts/schemathesis.toml says why 400/422 answers to
# schema-valid requests are expected.
#
# Starts `credit-rules serve` on a throwaway database (rate limit off: one client asks
# thousands of times; the 429 answers are documented), runs schemathesis with a
# city-office token (every route is reachable), stops the server.
# Usage: scripts/schemathesis.sh [MAX_EXAMPLES]   (default 30 per operation)
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-30}"
command -v schemathesis >/dev/null || python3 -m pip install --quiet schemathesis
cargo build --release --quiet --bin credit-rules
work="$(mktemp -d /tmp/credit-rules-st.XXXXXX)"
cleanup() { kill "${pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
./target/release/credit-rules serve --addr 127.0.0.1:18100 --data "$work/data" --demo-entities 50 --rate-limit 0 >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:18100/healthz >/dev/null 2>&1 && break; sleep 0.2; done
token="$(awk '$1 == "city_office" { print $2 }' "$work/data/dev-tokens.txt")"
schemathesis --config-file scripts/schemathesis.toml run http://127.0.0.1:18100/api/v1/openapi.json \
  --url http://127.0.0.1:18100 -H "Authorization: Bearer $token" --max-examples "$examples" \
  --checks all --no-color
