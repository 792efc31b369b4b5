#!/usr/bin/env bash
# Runs every test of the workspace: unit, property and end-to-end tests
# against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo test --workspace --all-targets "$@"
