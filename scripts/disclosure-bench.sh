#!/usr/bin/env bash
# Benchmark of the public disclosure list at a million stored records (README "Public
# disclosure list"). Not a timed test: it prints numbers to read with the machine's load.
#
#   1. Builds (once) a store of about 1,000,000 synthetic records with
#      `credit-rules import --demo 100000` under $DISCLOSURE_BENCH_DIR/store (default
#      /tmp/credit-rules-disclosure-bench; minutes; kept for the next run). A store built by
#      an older build is migrated when the server opens it (the time is printed).
#   2. Serves it on 127.0.0.1:18090 and counts the entries the public list shows today (all
#      pages, limit 1000), i.e. how many of the stored records are disclosable.
#   3. Finds page 1,000 of the unfiltered list by following `next_cursor` 999 times
#      (limit 50), then drives every URL of the list below with wrk (2 threads, 50
#      connections, DURATION seconds) and prints p50 / p99 latency and requests/s.
#
# wrk measures on the client over loopback, so its latency is the server time plus loopback
# and queueing: an upper bound of the server time.
#
# Usage: scripts/disclosure-bench.sh [DURATION_SECONDS=15]
#   CREDIT_RULES_BIN=path   use this binary instead of building target/release/credit-rules
#   EXTRA_URLS=file         more "name<TAB>path" lines to measure
# The list covers the JSON API and the HTML site's pages (same filters, same cursor).
# Needs wrk (apt-get -o DPkg::Lock::Timeout=600 install -y wrk), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-15}"
dir="${DISCLOSURE_BENCH_DIR:-/tmp/credit-rules-disclosure-bench}"
addr=127.0.0.1:18090
base="http://$addr"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get -o DPkg::Lock::Timeout=600 install -y wrk" >&2; exit 1; }

bin="${CREDIT_RULES_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin credit-rules
  bin=./target/release/credit-rules
fi
mkdir -p "$dir"
if [ ! -d "$dir/store" ]; then
  echo "building the store: 100,000 demo entities (about 1,000,000 records) into $dir/store"
  "$bin" import --demo 100000 --data "$dir/store"
fi

echo "load before: $(uptime)"
started=$(date +%s)
# --rate-limit 0: every wrk connection comes from 127.0.0.1, one client to the per-IP limit
"$bin" serve --addr "$addr" --data "$dir/store" --demo-entities 0 --rate-limit 0 \
  >"$dir/serve.log" 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true' EXIT
until curl -fsS "$base/healthz" >/dev/null 2>&1; do
  kill -0 "$serve_pid" 2>/dev/null || { cat "$dir/serve.log" >&2; exit 1; }
  sleep 0.5
done
echo "server up after $(( $(date +%s) - started )) s (includes a format migration, if any: see $dir/serve.log)"

python3 - "$base" "$dir/urls.tsv" <<'PY'
import json, sys, time, urllib.parse, urllib.request
base, out = sys.argv[1], sys.argv[2]
def get(path):
    with urllib.request.urlopen(base + path) as r:
        return json.load(r)
# How many entries the public list shows today, over all pages.
t, total, pages, cursor = time.time(), 0, 0, None
while True:
    page = get("/api/v1/disclosure?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
    total += len(page["items"]); pages += 1; cursor = page["next_cursor"]
    if not cursor:
        break
print(f"disclosable today: {total} entries ({pages} pages of up to 1000, {time.time() - t:.1f} s)")
# Page 1,000 of the unfiltered list: follow next_cursor 999 times.
t, cursor = time.time(), None
for _ in range(999):
    cursor = get("/api/v1/disclosure?limit=50" + (f"&cursor={cursor}" if cursor else ""))["next_cursor"]
print(f"page 1,000 reached in {time.time() - t:.1f} s")
# The first name search builds the in-memory name table: do it before measuring.
t = time.time()
get("/api/v1/disclosure?q=" + urllib.parse.quote("公司"))
print(f"first name search (builds the name table) in {time.time() - t:.1f} s")
q = lambda s: urllib.parse.quote(s)
urls = [
    ("first page", "/api/v1/disclosure"),
    ("kind ADMIN_PENALTY", "/api/v1/disclosure?kind=ADMIN_PENALTY"),
    ("kind WAGE_ARREARS", "/api/v1/disclosure?kind=WAGE_ARREARS"),
    ("authority 水务局", "/api/v1/disclosure?authority=" + q("水务局")),
    ("name 宏达 (common)", "/api/v1/disclosure?q=" + q("宏达")),
    ("name 江夏宏达市政 (narrow)", "/api/v1/disclosure?q=" + q("江夏宏达市政")),
    ("page 1,000", f"/api/v1/disclosure?limit=50&cursor={cursor}"),
    ("site: first page", "/"),
    ("site: kind ADMIN_PENALTY", "/?kind=ADMIN_PENALTY"),
    ("site: name (narrow)", "/?q=" + q("江夏宏达市政")),
    ("site: page 1,000", f"/?limit=50&cursor={cursor}"),
]
with open(out, "w") as f:
    for name, path in urls:
        f.write(f"{name}\t{path}\n")
PY
[ -n "${EXTRA_URLS:-}" ] && cat "$EXTRA_URLS" >>"$dir/urls.tsv"

printf '%-28s %10s %10s %10s\n' "url" "p50" "p99" "req/s"
while IFS=$'\t' read -r name path; do
  out="$(wrk -t2 -c50 -d"${duration}s" --latency "$base$path")"
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  rps="$(awk '$1 == "Requests/sec:" { print $2 }' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ { print " (non-2xx: " $NF ")" }' <<<"$out")"
  printf '%-28s %10s %10s %10s%s\n' "$name" "$p50" "$p99" "$rps" "$non2xx"
done <"$dir/urls.tsv"
echo "load after: $(uptime)"
