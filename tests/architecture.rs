//! The `Architecture Invariant:` lines of ARCHITECTURE.md that are about
//! who may depend on what, checked against the manifests and the sources.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The names of the dependencies (all kinds) of the crate at `dir`.
fn dependencies(dir: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(dir).join("Cargo.toml")).expect("manifest");
    let manifest: toml::Table = text.parse().expect("toml");
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|kind| manifest.get(*kind).and_then(|d| d.as_table()))
        .flat_map(|table| table.keys().cloned())
        .collect()
}

/// Every crate of the host workspace and every guest crate.
fn crates() -> Vec<String> {
    let mut all = Vec::new();
    for group in ["host", "plugins", "examples", "tests/fixtures"] {
        for entry in std::fs::read_dir(root().join(group)).expect("folder").flatten() {
            if entry.path().join("Cargo.toml").exists() {
                all.push(format!("{group}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    all.push("sdk".into());
    all.sort();
    all
}

fn users_of(dependency: &str) -> Vec<String> {
    crates().into_iter().filter(|c| dependencies(c).iter().any(|d| d == dependency)).collect()
}

#[test]
fn only_the_sled_backend_touches_sled_and_only_the_runtime_touches_wasmtime() {
    assert_eq!(users_of("sled"), ["host/store-sled"]);
    assert_eq!(users_of("tokio-postgres"), ["host/store-postgres"]);
    assert_eq!(users_of("deadpool-postgres"), ["host/store-postgres"]);
    assert_eq!(users_of("wasmtime"), ["host/runtime"]);
    assert!(!dependencies("host/store").iter().any(|d| d == "sled"), "the store traits name no backend");
}

#[test]
fn the_core_knows_nothing_of_storage_transport_or_plugins() {
    let deps = dependencies("host/core");
    for forbidden in ["sled", "axum", "tokio", "wasmtime", "serde_json", "switchboard-store"] {
        assert!(!deps.iter().any(|d| d == forbidden), "switchboard-core depends on {forbidden}");
    }
}

#[test]
fn above_the_store_traits_only_serve_names_the_backend() {
    let src = root().join("host/server/src");
    let mut naming = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if ["switchboard_store_sled", "switchboard_store_postgres"]
                .iter()
                .any(|backend| std::fs::read_to_string(&path).expect("source").contains(backend))
            {
                naming.push(path.strip_prefix(&src).expect("below src").display().to_string());
            }
        }
    }
    naming.sort();
    // backend opens the configured backend and turns its counters into
    // `/metrics` counters; config carries its settings.
    assert_eq!(naming, ["backend.rs", "config.rs"]);
}

#[test]
fn plugins_and_examples_depend_only_on_the_sdk_among_our_crates() {
    for krate in crates().into_iter().filter(|c| c.starts_with("plugins/") || c.starts_with("examples/")) {
        let ours: Vec<String> = dependencies(&krate).into_iter().filter(|d| d.starts_with("switchboard")).collect();
        assert_eq!(ours, ["switchboard-sdk"], "{krate}");
    }
}
