#!/usr/bin/env bash
# Instructions per HTTP request of `credit-rules serve`, counted by callgrind
# (load-independent), for one stored entity's evaluation and a 50-bidder tender.
#
# Starts the release binary under callgrind on a throwaway database of 2,000
# demo entities, warms it up, zeroes the counters, sends N requests with C
# concurrent keep-alive connections (scripts/load/client.py), dumps the
# counters and prints the instructions per request of the whole process (every
# thread: handlers, the decision-log writer, sled's flusher). Under callgrind
# the server runs one thread at a time, so requests in flight pile up and the
# decision log groups them as under load. Also prints how many decision-log
# entries were written per flush (the `decision_log_group_entries` summary).
#
# Usage: scripts/callgrind-serve.sh [N] [C] [BINARY]
#   defaults: N=400, C=64, BINARY=target/release/credit-rules (built when absent)
#   KEEP=DIR keeps the two callgrind dumps there (evaluate.out, tender50.out) for
#   callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-400}"
conns="${2:-64}"
bin="${3:-target/release/credit-rules}"
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install -y valgrind" >&2; exit 1; }
[ -x "$bin" ] || cargo build --release --quiet --bin credit-rules
work="$(mktemp -d /tmp/credit-rules-cg.XXXXXX)"
port=18090
cleanup() { kill "${serve_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" serve \
  --addr "127.0.0.1:$port" --data "$work/data" --demo-entities 2000 >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 600); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
token="$(awk '$1 == "evaluator" { print $2 }' "$work/data/dev-tokens.txt")"
usccs="$(curl -fsS "http://127.0.0.1:$port/api/v1/disclosure?as_of=2024-06-01&page_size=50" | python3 -c 'import json,sys; print(" ".join(sorted({i["uscc"] for i in json.load(sys.stdin)["items"]})))')"
first="$(echo "$usccs" | awk '{print $1}')"
printf '{"ruleset":"water","as_of":"2024-06-01","uscc":"%s"}' "$first" >"$work/one.json"
python3 - "$work/tender.json" $usccs <<'PY'
import json, sys
out, usccs = sys.argv[1], sys.argv[2:]
bidders = [{"id": f"B{i:02}", "members": [usccs[i % len(usccs)]]} for i in range(50)]
json.dump({"ruleset": "water", "as_of": "2024-06-01", "bidders": bidders}, open(out, "w"))
PY

groups() { # the group-size summary's count and sum so far
  curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^decision_log_group_entries_count/ { c = $2 } /^decision_log_group_entries_sum/ { s = $2 } END { print (c ? c : 0), (s ? s : 0) }'
}

measure() { # name path body requests connections
  python3 scripts/load/client.py "http://127.0.0.1:$port$2" "$3" "$token" 20 4 >/dev/null
  read -r c0 s0 < <(groups)
  callgrind_control -z "$serve_pid" >/dev/null
  python3 scripts/load/client.py "http://127.0.0.1:$port$2" "$3" "$token" "$4" "$5" >"$work/client.txt"
  callgrind_control -d "$serve_pid" >/dev/null
  read -r c1 s1 < <(groups)
  local dump
  dump="$(ls -t "$work"/cg.out* | head -n 1)"
  local total
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$dump" "$KEEP/$1.out"; fi
  total="$(sed -n 's/^summary: *\([0-9]*\).*/\1/p;s/^totals: *\([0-9]*\).*/\1/p' "$dump" | head -n 1)"
  python3 - "$1" "$total" "$4" "$5" "$c0" "$s0" "$c1" "$s1" "$work/client.txt" <<'PY'
import sys
name, total, n, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
c0, s0, c1, s1 = map(float, sys.argv[5:9])
client = open(sys.argv[9]).read().strip()
entries = s1 - s0
flushes = c1 - c0
per_flush = entries / flushes if flushes else 0
print(f"{name}: {total / n:,.0f} instructions per request ({n} requests, {conns} connections; "
      f"{flushes:.0f} decision-log flushes, {per_flush:.1f} entries per flush) [{client}]")
PY
}
measure evaluate /api/v1/evaluate "$work/one.json" "$n" "$conns"
measure tender50 /api/v1/tenders/evaluate "$work/tender.json" "$(( n / 10 > 0 ? n / 10 : 1 ))" "$(( conns < 8 ? conns : 8 ))"
