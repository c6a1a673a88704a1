#!/usr/bin/env bash
# Instructions per evaluation, counted by callgrind (load-independent), for the engine and
# the hand-written baseline (benches/baseline/mod.rs) on the shipped water rule set with
# the city base, at 0, 4 and 20 records per entity, as a table with ratios.
#
# Each cell runs the measurement binary (benches/callgrind.rs, release build) under
# callgrind twice, with N and 2N iterations, and prints (I(2N) − I(N)) / N: the setup
# (loading and compiling the rule sets, generating the entities) cancels out.
#
# Usage: scripts/callgrind.sh [COLUMN...]     default: every column
#   columns: baseline engine report report-json report-serde decode-baseline decode-engine
#   N=2000 SIZES="0 4 20" scripts/callgrind.sh engine report   (environment overrides)
# Ratios: engine ÷ baseline; report, report-json and report-serde ÷ engine;
# decode-engine ÷ decode-baseline.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${N:-2000}
sizes=${SIZES:-0 4 20}
if [ $# -gt 0 ]; then
    columns=("$@")
else
    columns=(baseline engine report report-json decode-baseline decode-engine)
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

bin=$(cargo build --release --bench callgrind --message-format=json 2>/dev/null \
    | jq -r 'select(.reason == "compiler-artifact" and .target.name == "callgrind") | .executable // empty' \
    | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    cargo build --release --bench callgrind # show the errors
    echo "could not find the callgrind bench executable" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Instructions callgrind collects for one run of the binary.
collected() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$@" 2>"$tmp/err" >/dev/null \
        || { cat "$tmp/err" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/err"
}

declare -A per
for column in "${columns[@]}"; do
    for size in $sizes; do
        one=$(collected "$column" "$size" "$n")
        two=$(collected "$column" "$size" $((2 * n)))
        per[$column/$size]=$(( (two - one) / n ))
        echo "  $column at $size records: ${per[$column/$size]} instructions" >&2
    done
done

label() {
    case $1 in
        baseline) echo "hand-written evaluate (baseline)" ;;
        engine) echo "credit-rules evaluate" ;;
        report) echo "credit-rules evaluate + report" ;;
        report-json) echo "credit-rules evaluate + report + JSON" ;;
        report-serde) echo "credit-rules evaluate + report + JSON by serde_json" ;;
        decode-baseline) echo "hand-written JSON → typed decode" ;;
        decode-engine) echo "credit-rules record decode (serde + validate)" ;;
        *) echo "$1" ;;
    esac
}
# The column a ratio is taken against, and how the ratio reads.
reference() {
    case $1 in
        engine) echo "baseline" ;;
        report | report-json | report-serde) echo "engine" ;;
        decode-engine) echo "decode-baseline" ;;
        *) echo "" ;;
    esac
}

echo
echo "Instructions per iteration (callgrind), water + city base, $(date -u +%F), commit $(git rev-parse --short HEAD), N=$n"
echo
header="| |"
rule="|---|"
for size in $sizes; do
    header+=" $size records |"
    rule+="---:|"
done
echo "$header"
echo "$rule"
for column in "${columns[@]}"; do
    row="| $(label "$column") |"
    ref=$(reference "$column")
    for size in $sizes; do
        value=${per[$column/$size]}
        cell=$(printf "%'d" "$value")
        if [ -n "$ref" ] && [ -n "${per[$ref/$size]:-}" ] && [ "${per[$ref/$size]}" -gt 0 ]; then
            cell+=$(awk -v a="$value" -v b="${per[$ref/$size]}" 'BEGIN { printf " (%.2f×)", a / b }')
        fi
        row+=" $cell |"
    done
    echo "$row"
done
echo
echo "Ratios: evaluate ÷ hand-written evaluate; report ÷ evaluate; decode ÷ hand-written decode."
