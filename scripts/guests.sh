#!/usr/bin/env bash
# Runs a cargo command natively on every guest crate: the SDK (once per
# plugin kind), the shipped plugins and the examples. Each is its own cargo
# workspace, built on its own so that the SDK's kind features never mix.
#   scripts/guests.sh test      # their unit tests
#   scripts/guests.sh clippy    # lints, warnings as errors
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-test}
target_dir="$PWD/target/guests-native"

run() {
    local manifest=$1; shift
    case "$action" in
        test) cargo test --quiet --manifest-path "$manifest" --target-dir "$target_dir" "$@" ;;
        clippy) cargo clippy --quiet --manifest-path "$manifest" --target-dir "$target_dir" --all-targets "$@" -- -D warnings ;;
        fmt) cargo fmt --manifest-path "$manifest" -- --check ;;
        *) echo "unknown action $action" >&2; exit 2 ;;
    esac
}

run sdk/Cargo.toml --features channel
run sdk/Cargo.toml --features robot
run sdk/Cargo.toml --features stage
run sdk/Cargo.toml --features mail
run sdk/Cargo.toml --features chat
# Fixtures are built and used by the end-to-end tests; they have no tests
# of their own, so `test` skips them.
fixtures=tests/fixtures/*/
[ "$action" = test ] && fixtures=""
for dir in plugins/*/ examples/*/ $fixtures; do
    [ -f "$dir/Cargo.toml" ] || continue
    echo "== $dir"
    run "$dir/Cargo.toml"
done
