#!/usr/bin/env bash
# Impact-analysis benchmark (README "Benchmarks"), release build.
#
#   scripts/impact-bench.sh [ENTITIES=1000000] [STORE_ENTITIES=50000]
#     1. the engine alone: ENTITIES synthetic entities × 20 records generated in memory first
#        (not timed; about 11 GB of RAM for 1,000,000), both versions, parallel and one thread;
#     2. the store path: STORE_ENTITIES × 20 records loaded into a fresh sled store (minutes;
#        set IMPACT_BENCH_DIR to keep and reuse it), then scanned and analysed cold and warm,
#        and read in parallel by USCC range (the path `credit-rules impact` takes), with an
#        extrapolation to 20 M records that is labelled as such.
#
#   scripts/impact-bench.sh pg ENTITIES...      e.g. scripts/impact-bench.sh pg 100000 1000000
#     PostgreSQL: for each ENTITIES, a schema of its own (impact_bench_ENTITIES) filled with
#     ENTITIES × 20 demo records by COPY straight into the store's tables, in the store's own
#     encoding (`PgStore::fill_new_records`; the integration test impact_ranges checks that
#     it writes the rows the import writes), then `impact_of_store` read in parallel by USCC
#     range, twice, with its parts timed apart: cutting the ranges, the bare scan, the scan
#     and decoding (see `by_ranges` in examples/impact_bench.rs). The schema is dropped at
#     the end unless KEEP_SCHEMA=1 (then a second run reuses it: FILL=0).
#     CREDIT_RULES_BENCH_PG names the database (default postgres://postgres@127.0.0.1:5432/test).
#     ONE_CURSOR=1 also times the single-cursor scan (one row per record).
#
# The machine load (uptime) is printed before, between and after: report it with the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --example impact_bench
bench=./target/release/examples/impact_bench

if [ "${1:-}" = pg ]; then
  shift
  base_url="${CREDIT_RULES_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
  scripts/pg-start.sh >/dev/null
  for entities in "$@"; do
    schema="impact_bench_${entities}"
    fill=()
    if [ "${FILL:-1}" = 1 ]; then
      psql "$base_url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE"
      fill=(--fill)
    fi
    one_cursor=()
    if [ "${ONE_CURSOR:-0}" = 1 ]; then one_cursor=(--one-cursor); fi
    echo "load before ($entities × 20 on PostgreSQL): $(uptime)"
    "$bench" pg --entities "$entities" --records 20 --url "$base_url" --schema "$schema" \
      "${fill[@]}" "${one_cursor[@]}"
    psql "$base_url" -qtc "SELECT 'records table: ' || pg_size_pretty(pg_total_relation_size('$schema.records'))"
    echo "load after: $(uptime)"
    if [ "${KEEP_SCHEMA:-0}" != 1 ]; then
      psql "$base_url" -qc "DROP SCHEMA $schema CASCADE"
    fi
  done
  exit 0
fi

entities=${1:-1000000}
store_entities=${2:-50000}
echo "load before: $(uptime)"
"$bench" engine --entities "$entities" --records 20 --sequential
echo "load between: $(uptime)"
"$bench" store --entities "$store_entities" --records 20 ${IMPACT_BENCH_DIR:+--dir "$IMPACT_BENCH_DIR"}
echo "load after: $(uptime)"
