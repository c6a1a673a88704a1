#!/usr/bin/env bash
# PostgreSQL beside sled on this machine: the same work on both stores.
#
#   1. import ENTITIES synthetic entities (`import --demo`, ≈10 records each: 100000 → ≈1M
#      records), records/s (PostgreSQL: COPY into staging tables, merged, per batch);
#   2. impact of a rule change over every stored entity (`impact`), s;
#   3. public disclosure pages at that size (`/api/v1/disclosure?limit=50`): the first page,
#      the page after its cursor, a common name (`q=有限`), an authority filter — 10
#      requests each, ms per request;
#   4. HTTP evaluate of one stored entity, 64 connections, SECONDS s (wrk: requests/s, p99),
#      as scripts/load-bench.sh measures it;
#   5. PostgreSQL only: two `serve` replicas on the schema; a draft submitted and approved
#      on replica A; the time until replica B serves the new version (ms, 5 times).
#
# Prints the load average (`uptime`) before and after: the machine is shared, and the
# numbers mean little when it is busy.
#
# Usage: scripts/pg-bench.sh [ENTITIES] [SECONDS]      (defaults 100000 and 10)
# PostgreSQL: CREDIT_RULES_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); the
# script works in a schema of its own and drops it at the end. STORES="sled pg" (default)
# chooses the stores; CREDIT_RULES_BENCH_BIN names a release binary already built;
# STEPS (default "import impact serve") chooses the steps: the import always runs (the
# others need its store), so STEPS=import measures only the import; steps 3–5 are `serve`.
# IMPORT_ARGS adds arguments to the import (e.g. `--batch-size 20000`).
set -euo pipefail
cd "$(dirname "$0")/.."
entities="${1:-100000}"
duration="${2:-10}"
stores="${STORES:-sled pg}"
steps="${STEPS:-import impact serve}"
has_step() { case " $steps " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
base_url="${CREDIT_RULES_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
schema="bench_$$"
scripts/pg-start.sh >/dev/null
if [ -n "${CREDIT_RULES_BENCH_BIN:-}" ]; then
  bin="$CREDIT_RULES_BENCH_BIN"   # a release binary built before
else
  cargo build --release --quiet --bin credit-rules
  bin=./target/release/credit-rules
fi
work="$(mktemp -d /tmp/credit-rules-pg-bench.XXXXXX)"
psql "$base_url" -qc "CREATE SCHEMA $schema"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$base_url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" || true
  rm -rf "$work"
}
trap cleanup EXIT
pg="${base_url}?options=-csearch_path%3D${schema}"
echo "load before: $(uptime)"

seconds() { python3 -c "import time; print(f'{time.time():.3f}')"; }
wait_up() { for _ in $(seq 1 600); do curl -fsS "$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
# Mean time of 10 GETs of a URL, ms (the public list allows a burst of 60 requests per
# client, then 10/s: the four URLs below stay within it).
timed_get() {
  python3 - "$1" <<'PY'
import sys, time, urllib.request
url = sys.argv[1]
urllib.request.urlopen(url).read()
start = time.time()
for _ in range(10):
    urllib.request.urlopen(url).read()
print(f"{(time.time() - start) / 10 * 1000:.1f}")
PY
}

for store in $stores; do
  if [ "$store" = sled ]; then args=(--data "$work/sled"); else args=(--data "$work/pg-tokens" --store "$pg"); fi
  start=$(seconds)
  # shellcheck disable=SC2086 # IMPORT_ARGS is a list of words
  "$bin" import --demo "$entities" "${args[@]}" ${IMPORT_ARGS:-} 2>"$work/import-$store.log"
  end=$(seconds)
  records=$(grep -o 'records: [0-9]* inserted' "$work/import-$store.log" | grep -o '[0-9]*')
  python3 -c "print(f'$store import: {$records} records in {$end-$start:.1f} s = {$records/($end-$start):.0f} records/s')"
  echo "  load after the $store import: $(uptime)"
  if has_step impact; then
  start=$(seconds)
  "$bin" impact --ruleset water --old rulesets/water/water.rules --new rulesets/water/water.rules --as-of 2024-06-01 "${args[@]}" >/dev/null 2>"$work/impact-$store.log" || true
  end=$(seconds)
  python3 -c "print(f'$store impact over every entity: {$end-$start:.1f} s')"
  grep -h "evaluated" "$work/impact-$store.log" | sed "s/^/  /" || true
  fi
  has_step serve || continue

  "$bin" serve --addr 127.0.0.1:18090 --demo-entities 0 "${args[@]}" >"$work/serve-$store.log" 2>&1 &
  serve_pid=$!; pids+=("$serve_pid")
  wait_up http://127.0.0.1:18090
  list='http://127.0.0.1:18090/api/v1/disclosure?as_of=2024-06-01&limit=50'
  curl -fsS "$list" >"$work/page.json"
  cursor="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["next_cursor"])' "$work/page.json")"
  echo "$store disclosure page of 50 at $records records: first $(timed_get "$list") ms," \
    "next $(timed_get "$list&cursor=$cursor") ms," \
    "q=有限 $(timed_get "$list&q=%E6%9C%89%E9%99%90") ms," \
    "authority=武汉 $(timed_get "$list&authority=%E6%AD%A6%E6%B1%89") ms per request"
  if command -v wrk >/dev/null; then
    token="$(awk '$1 == "evaluator" { print $2 }' "${args[1]}/dev-tokens.txt")"
    uscc="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"][0]["uscc"])' "$work/page.json")"
    printf '{"ruleset":"water","as_of":"2024-06-01","uscc":"%s"}' "$uscc" >"$work/one.json"
    BODY="$work/one.json" TOKEN="$token" wrk -t2 -c64 -d"${duration}s" --latency -s scripts/load/post.lua \
      http://127.0.0.1:18090/api/v1/evaluate | grep RESULT | sed "s/^RESULT/$store evaluate (64 connections):/"
  else
    echo "$store evaluate: wrk not installed (apt-get install -y wrk)"
  fi
  if [ "$store" = pg ]; then
    # A second replica on the same schema; publish through the first, wait on the second.
    "$bin" serve --addr 127.0.0.1:18091 --demo-entities 0 "${args[@]}" >"$work/serve-pg-b.log" 2>&1 &
    pids+=("$!")
    wait_up http://127.0.0.1:18091
    python3 - "${args[1]}/dev-tokens.txt" <<'PY'
import json, re, sys, time, urllib.request
tokens = dict(line.split()[:2] for line in open(sys.argv[1]) if len(line.split()) >= 2)
a, b = "http://127.0.0.1:18090", "http://127.0.0.1:18091"
def call(method, url, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {tokens[token]}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
def head(base):
    return call("GET", f"{base}/api/v1/rulesets/water", "evaluator")["meta"]["hash"]
for n in range(5):
    current = call("GET", f"{a}/api/v1/rulesets/water", "evaluator")
    # A change of meaning (a comment alone is refused as no change): the penalty points.
    old = current["source"]
    m = re.search(r"(const 每次处罚扣分\s*=\s*)(\d+)", old)
    source = old[:m.start(2)] + str(2 + (int(m.group(2)) - 1) % 3) + old[m.end(2):]
    draft = call("PUT", f"{a}/api/v1/rulesets/water", "bureau_water",
                 {"source": source, "base_hash": current["meta"]["hash"], "message": f"bench {n}"})
    call("POST", f"{a}/api/v1/drafts/{draft['id']}/approve", "city_office", {"comment": "同意"})
    approved = time.time()
    new = head(a)
    while head(b) != new:
        if time.time() - approved > 30:
            sys.exit("replica B did not serve the new version within 30 s")
        time.sleep(0.005)
    print(f"pg replicas: published on A, live on B {(time.time() - approved) * 1000:.0f} ms after the approval was answered")
PY
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
done
echo "load after: $(uptime)"
