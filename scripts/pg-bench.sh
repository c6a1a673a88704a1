#!/usr/bin/env bash
# PostgreSQL beside sled on this machine: the same work on both stores.
#
#   1. import ENTITIES synthetic entities (`import --demo`, ≈10 records each: 100000 → ≈1M
#      records), records/s;
#   2. impact of a rule change over every stored entity (`impact`, parallel decoding), s;
#   3. one public disclosure page (`/api/v1/disclosure?page_size=50`, 20 requests), ms;
#   4. with wrk installed: HTTP evaluate of one stored entity, 64 connections (requests/s,
#      p99), as scripts/load-bench.sh measures it.
#
# Usage: scripts/pg-bench.sh [ENTITIES] [SECONDS]      (defaults 100000 and 10)
# PostgreSQL: CREDIT_RULES_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); the
# script works in a schema of its own and drops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
entities="${1:-100000}"
duration="${2:-10}"
base_url="${CREDIT_RULES_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
schema="bench_$$"
scripts/pg-start.sh >/dev/null
cargo build --release --quiet --bin credit-rules
bin=./target/release/credit-rules
work="$(mktemp -d /tmp/credit-rules-pg-bench.XXXXXX)"
psql "$base_url" -qc "CREATE SCHEMA $schema"
cleanup() {
  kill "${serve_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true
  psql "$base_url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" || true
  rm -rf "$work"
}
trap cleanup EXIT
pg="${base_url}?options=-csearch_path%3D${schema}"

seconds() { python3 -c "import time; print(f'{time.time():.3f}')"; }
for store in sled pg; do
  if [ "$store" = sled ]; then args=(--data "$work/sled"); else args=(--data "$work/pg-tokens" --store "$pg"); fi
  start=$(seconds)
  "$bin" import --demo "$entities" "${args[@]}" 2>"$work/import-$store.log"
  end=$(seconds)
  records=$(grep -o 'records: [0-9]* inserted' "$work/import-$store.log" | grep -o '[0-9]*')
  python3 -c "print(f'$store import: {$records} records in {$end-$start:.1f} s = {$records/($end-$start):.0f} records/s')"
  start=$(seconds)
  "$bin" impact --ruleset water --old rulesets/water/water.rules --new rulesets/water/water.rules --as-of 2024-06-01 "${args[@]}" >/dev/null 2>"$work/impact-$store.log" || true
  end=$(seconds)
  python3 -c "print(f'$store impact over every entity: {$end-$start:.1f} s')"
  grep -h "evaluated" "$work/impact-$store.log" | sed "s/^/  /" || true

  "$bin" serve --addr 127.0.0.1:18090 --demo-entities 0 "${args[@]}" >"$work/serve-$store.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 300); do curl -fsS http://127.0.0.1:18090/healthz >/dev/null 2>&1 && break; sleep 0.2; done
  start=$(seconds)
  for _ in $(seq 1 20); do curl -fsS 'http://127.0.0.1:18090/api/v1/disclosure?as_of=2024-06-01&page_size=50' >"$work/page.json"; done
  end=$(seconds)
  python3 -c "print(f'$store disclosure page of 50: {($end-$start)/20*1000:.0f} ms per request')"
  if command -v wrk >/dev/null; then
    token="$(awk '$1 == "evaluator" { print $2 }' "${args[1]}/dev-tokens.txt")"
    uscc="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][0]["uscc"])' "$work/page.json")"
    printf '{"ruleset":"water","as_of":"2024-06-01","uscc":"%s"}' "$uscc" >"$work/one.json"
    BODY="$work/one.json" TOKEN="$token" wrk -t2 -c64 -d"${duration}s" --latency -s scripts/load/post.lua \
      http://127.0.0.1:18090/api/v1/evaluate | grep RESULT | sed "s/^RESULT/$store evaluate/"
  else
    echo "$store evaluate: wrk not installed (apt-get install -y wrk)"
  fi
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
done
