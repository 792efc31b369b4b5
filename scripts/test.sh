#!/usr/bin/env bash
# Runs every test: each guest crate's own tests natively (the SDK with each
# plugin kind, the shipped plugins, the examples), the Python and JavaScript
# examples' own tests and their builds, then the host workspace:
# unit, property and end-to-end tests against the real server and real
# components. Ends with one line totalling every test binary's results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
scripts/guests.sh test 2>&1 | tee -a "$log"
scripts/sdk-examples.sh 2>&1 | tee -a "$log"
cargo test --workspace --all-targets "$@" 2>&1 | tee -a "$log"
grep -E '^test result:' "$log" | awk '
    { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
    END { printf "total: %d passed, %d failed\n", p, f }'

