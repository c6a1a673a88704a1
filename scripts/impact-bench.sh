#!/usr/bin/env bash
# Impact-analysis benchmark (README "Benchmarks"), release build:
#   1. the engine alone: ENTITIES synthetic entities × 20 records generated in memory first
#      (not timed; about 11 GB of RAM for 1,000,000), both versions, parallel and one thread;
#   2. the store path: STORE_ENTITIES × 20 records loaded into a fresh sled store (minutes;
#      set IMPACT_BENCH_DIR to keep and reuse it), then scanned and analysed cold and warm,
#      with an extrapolation to 20 M records that is labelled as such.
# Usage: scripts/impact-bench.sh [ENTITIES=1000000] [STORE_ENTITIES=50000]
# The machine load (uptime) is printed before, between and after: report it with the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

entities=${1:-1000000}
store_entities=${2:-50000}

cargo build --release --example impact_bench
bench=./target/release/examples/impact_bench
echo "load before: $(uptime)"
"$bench" engine --entities "$entities" --records 20 --sequential
echo "load between: $(uptime)"
"$bench" store --entities "$store_entities" --records 20 ${IMPACT_BENCH_DIR:+--dir "$IMPACT_BENCH_DIR"}
echo "load after: $(uptime)"
