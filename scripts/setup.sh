#!/usr/bin/env bash
# Installs what building and testing Switchboard needs on a fresh machine:
# the pinned toolchain with the wasm32-wasip2 target (plugins are built for
# it), and with `--for-tests` the Debian packages only the tests use:
# chromium and chromedriver for the browser test, strace for the power-loss
# test, swaks for the mail tests, and schemathesis from PyPI for the API check (the demo needs none of
# them), and the Python and JavaScript plugin toolchains the SDK examples
# are built with (componentize-py from PyPI into target/componentize-py;
# Node.js from Debian if missing, and componentize-js from npm into
# sdk/js/node_modules, both pinned). Safe to run again; it only installs
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$toolchain"; then
    rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy
fi
if ! rustup target list --installed --toolchain "$toolchain" | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2 --toolchain "$toolchain"
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed --toolchain "$toolchain" | grep -q "^$component"; then
        rustup component add "$component" --toolchain "$toolchain"
    fi
done

# The browser test drives Debian's chromium through chromedriver; the
# power-loss test runs the server under strace. The PostgreSQL and
# multi-server tests start private servers of their own from Debian's
# postgresql and nats-server (they never use a service already running).
# The mail tests send with swaks, as an admin would.
if [ "${1:-}" = --for-tests ] && { ! command -v chromedriver >/dev/null || ! [ -x /usr/bin/chromium ] \
    || ! command -v strace >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null \
    || ! command -v nats-server >/dev/null || ! command -v swaks >/dev/null; }; then
    as_root=""
    [ "$(id -u)" -eq 0 ] || as_root="sudo"
    $as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends \
        chromium chromium-driver strace postgresql nats-server swaks
fi

# Schemathesis checks the live API against its OpenAPI document; it comes
# from PyPI, pinned, into a virtual environment under target/.
schemathesis_version=4.32.5
if [ "${1:-}" = --for-tests ] \
    && ! target/schemathesis/bin/schemathesis --version 2>/dev/null | grep -q "$schemathesis_version"; then
    if ! python3 -m venv target/schemathesis; then
        # Debian's own python3 keeps venv in a package of its own.
        as_root=""
        [ "$(id -u)" -eq 0 ] || as_root="sudo"
        DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends python3-venv
        python3 -m venv target/schemathesis
    fi
    target/schemathesis/bin/pip install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

# Python plugins are built with componentize-py, pinned, from PyPI.
componentize_py_version=0.25.1
if [ "${1:-}" = --for-tests ] \
    && ! target/componentize-py/bin/componentize-py --version 2>/dev/null | grep -q "$componentize_py_version"; then
    python3 -m venv target/componentize-py
    target/componentize-py/bin/pip install --quiet --disable-pip-version-check "componentize-py==$componentize_py_version"
fi

# JavaScript plugins are built with componentize-js (sdk/js/package.json
# pins it; package-lock.json pins the rest) on Node.js.
if [ "${1:-}" = --for-tests ]; then
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        as_root=""
        [ "$(id -u)" -eq 0 ] || as_root="sudo"
        $as_root apt-get update -q
        DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends nodejs npm
    fi
    if ! [ -d sdk/js/node_modules/@bytecodealliance/componentize-js ]; then
        (cd sdk/js && npm ci --silent --no-audit --no-fund)
    fi
fi

# The live chat tests look visitors' countries up in a country database:
# the CC0 one of ip-location-db, from npm at a pinned version, kept under
# target/ and never committed.
country_db_version=2.3.2026061719
if [ "${1:-}" = --for-tests ] && ! [ -f "target/test-data/country-$country_db_version.mmdb" ]; then
    mkdir -p target/test-data
    (cd target/test-data \
        && npm pack --silent "@ip-location-db/geo-whois-asn-country-mmdb@$country_db_version" >/dev/null \
        && tar xzf "ip-location-db-geo-whois-asn-country-mmdb-$country_db_version.tgz" package/geo-whois-asn-country.mmdb \
        && mv package/geo-whois-asn-country.mmdb "country-$country_db_version.mmdb" \
        && rm -rf package "ip-location-db-geo-whois-asn-country-mmdb-$country_db_version.tgz")
    ln -sf "country-$country_db_version.mmdb" target/test-data/country.mmdb
fi

# The console browser tests check accessibility with axe-core, from npm at
# a pinned version, kept under target/ and never committed.
axe_version=4.14.1
if [ "${1:-}" = --for-tests ] && ! [ -f "target/test-data/axe-$axe_version.min.js" ]; then
    mkdir -p target/test-data
    (cd target/test-data \
        && npm pack --silent "axe-core@$axe_version" >/dev/null \
        && tar xzf "axe-core-$axe_version.tgz" package/axe.min.js \
        && mv package/axe.min.js "axe-$axe_version.min.js" \
        && rm -rf package "axe-core-$axe_version.tgz")
    ln -sf "axe-$axe_version.min.js" target/test-data/axe.min.js
fi

