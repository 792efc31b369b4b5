#!/usr/bin/env bash
# Starts Switchboard on http://127.0.0.1:8080 with a "Demo" team that has
# every shipped channel enabled (start-up logs each public page), keeping
# its data in ./data. The first admin token is written to ./data/admin-token.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --release -p switchboard -- serve --demo "$@"
