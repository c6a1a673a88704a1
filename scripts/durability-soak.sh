#!/usr/bin/env bash
# Kill -9 soak test of the record store: N cycles (default 200) of the durability test in
# tests/durability.rs, on a release build.
#
# Each cycle starts `credit-rules import - --ack` on one database, streams records, changed
# records and repair events into it, kills it with SIGKILL at a random moment, reopens the
# database and checks that every write it acknowledged (printed `ACK <id>` after the batch's
# flush) is present and intact. CI runs 20 cycles as part of `cargo test`; this script runs
# many more, e.g. before upgrading sled or changing src/store.rs.
#
# Usage: scripts/durability-soak.sh [CYCLES] [SEED]
#   CYCLES  number of kill/restart cycles (default 200). Every cycle re-checks everything
#           acknowledged so far, so cycles slow down as the database grows: 300 cycles
#           (299 kills, 264,523 records) took 22 minutes on the 2-core machine.
#   SEED    replay a failing run with the seed it printed (default: from the clock)
set -euo pipefail
cd "$(dirname "$0")/.."

cycles="${1:-200}"
if ! [[ "$cycles" =~ ^[0-9]+$ ]] || (( cycles < 2 )); then
  echo "usage: $0 [CYCLES>=2] [SEED]" >&2
  exit 2
fi
export DURABILITY_CYCLES="$cycles"
if [[ -n "${2:-}" ]]; then
  export DURABILITY_SEED="$2"
fi

exec cargo test --release --test durability -- --nocapture
