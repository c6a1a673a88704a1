#!/usr/bin/env bash
# Load benchmark of the HTTP service.
#
# Starts `credit-rules serve` on a throwaway database under /tmp and a bare
# axum JSON echo server (examples/echo_server.rs) as the ceiling, then drives
# both with wrk on loopback: 2 threads, 64 connections, DURATION seconds each.
# Prints requests/s and p50/p99 latency for: the echo ceiling, evaluating one
# stored entity, and a whole tender of 50 bidders (64 connections, and one
# connection: its latency is the tender's server time plus loopback), then the
# evaluate/echo ratio, and how many evaluations shared a decision-log flush and a receipt
# signature.
#
# Usage: scripts/load-bench.sh [DURATION_SECONDS]   (needs wrk: apt-get install wrk)
#   BIN_DIR=/some/dir scripts/load-bench.sh   runs the credit-rules and echo_server binaries
#   found there instead of building this checkout's (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }

if [ -n "${BIN_DIR:-}" ]; then
  serve_bin="$BIN_DIR/credit-rules" echo_bin="$BIN_DIR/echo_server"
else
  cargo build --release --quiet --bin credit-rules --example echo_server
  serve_bin=./target/release/credit-rules echo_bin=./target/release/examples/echo_server
fi
work="$(mktemp -d /tmp/credit-rules-load.XXXXXX)"
cleanup() { kill "${serve_pid:-}" "${echo_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$serve_bin" serve --addr 127.0.0.1:18080 --data "$work/data" --demo-entities 2000 >"$work/serve.log" 2>&1 &
serve_pid=$!
"$echo_bin" 127.0.0.1:18081 &
echo_pid=$!
for _ in $(seq 1 100); do
  curl -fsS http://127.0.0.1:18080/healthz >/dev/null 2>&1 && curl -fsS -X POST -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:18081/echo >/dev/null 2>&1 && break
  sleep 0.2
done
token="$(awk '$1 == "evaluator" { print $2 }' "$work/data/dev-tokens.txt")"

# Bodies: one stored entity; a 50-bidder tender over stored entities (found via the disclosure list).
usccs="$(curl -fsS "http://127.0.0.1:18080/api/v1/disclosure?as_of=2024-06-01&page_size=50" | python3 -c 'import json,sys; print(" ".join(sorted({i["uscc"] for i in json.load(sys.stdin)["items"]})))')"
first="$(echo "$usccs" | awk '{print $1}')"
printf '{"ruleset":"water","as_of":"2024-06-01","uscc":"%s"}' "$first" >"$work/one.json"
python3 - "$work/tender.json" $usccs <<'PY'
import json, sys
out, usccs = sys.argv[1], sys.argv[2:]
bidders = [{"id": f"B{i:02}", "members": [usccs[i % len(usccs)]]} for i in range(50)]
json.dump({"ruleset": "water", "as_of": "2024-06-01", "bidders": bidders}, open(out, "w"))
PY

run() { # name connections url body token
  BODY="$4" TOKEN="$5" wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"${duration}s" --latency -s scripts/load/post.lua "$3" \
    | grep RESULT | sed "s/^RESULT/$1/" | tee -a "$work/results.txt"
}
groups() { # the decision log's flushes so far and the entries they wrote
  curl -fsS http://127.0.0.1:18080/metrics | awk '/^decision_log_group_entries_count/ { c = $2 } /^decision_log_group_entries_sum/ { s = $2 } END { print (c ? c : 0), (s ? s : 0) }'
}
run echo          64 http://127.0.0.1:18081/echo                    "$work/one.json"    ""
read -r c0 s0 < <(groups)
run evaluate      64 http://127.0.0.1:18080/api/v1/evaluate         "$work/one.json"    "$token"
read -r c1 s1 < <(groups)
python3 -c "import sys; f, e = float(sys.argv[2]) - float(sys.argv[1]), float(sys.argv[4]) - float(sys.argv[3]); print(f'evaluate: {f:.0f} decision-log flushes, {e / f if f else 0:.1f} entries (and receipts under one signature) per flush')" "$c0" "$c1" "$s0" "$s1"
run tender50      64 http://127.0.0.1:18080/api/v1/tenders/evaluate "$work/tender.json" "$token"
run tender50-1conn 1 http://127.0.0.1:18080/api/v1/tenders/evaluate "$work/tender.json" "$token"
python3 - "$work/results.txt" <<'PY'
import re, sys
rps = {line.split()[0]: float(re.search(r"requests/s=([0-9.]+)", line).group(1)) for line in open(sys.argv[1])}
print(f"ratio evaluate/echo = {rps['evaluate'] / rps['echo']:.1%} (target >= 40%)")
PY
