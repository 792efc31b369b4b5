#!/usr/bin/env bash
# Builds the Python and JavaScript example plugins into
# target/sdk-examples/<name>.wasm and runs their own tests natively. The
# end-to-end test (tests/languages.rs) installs what this builds. Needs
# `scripts/setup.sh --for-tests` first (componentize-py in
# target/componentize-py, componentize-js in sdk/js/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/sdk-examples
mkdir -p "$out"

# Python: componentize-py bundles CPython and the app into one component.
py=sdk/python/examples/hello-channel-py
bindings=$out/python-bindings
rm -rf "$bindings"
target/componentize-py/bin/componentize-py -d wit -w channel bindings "$bindings" >/dev/null
(cd "$py" && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$OLDPWD/$bindings" python3 -m unittest -q test_app 2>&1 | tail -1)
target/componentize-py/bin/componentize-py -d wit -w channel componentize -p "$py" app \
    -o "$out/hello-channel-py.wasm" >/dev/null
echo "built $out/hello-channel-py.wasm"

# JavaScript: componentize-js through its API (see build.mjs).
js=sdk/js/examples/hello-channel-js
(cd "$js" && node --test 2>&1 | grep -E '^# (pass|fail)')
node "$js/build.mjs" "$PWD/wit" "$PWD/$out/hello-channel-js.wasm"
