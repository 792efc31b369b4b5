//! Schemathesis (from PyPI) against the real server: it reads the OpenAPI
//! document, generates requests from it, and runs every check it has
//! (`--checks all`): no server errors, every status and content type
//! documented, responses that match their schemas, schema-invalid requests
//! refused, schema-valid requests accepted, and stateful sequences that
//! follow the document's links. `schemathesis/schemathesis.toml` holds the
//! one relaxation and says why. `scripts/setup.sh --for-tests` installs the
//! pinned version into `target/schemathesis`.

mod support;

use std::path::PathBuf;

/// The schemathesis command installed by `scripts/setup.sh --for-tests`.
fn schemathesis() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = root.join("target/schemathesis/bin/schemathesis");
    assert!(bin.exists(), "{} is missing: run scripts/setup.sh --for-tests", bin.display());
    bin
}

#[tokio::test]
async fn schemathesis_finds_nothing_wrong_with_the_api() {
    let data = tempfile::tempdir().expect("data dir");
    let token = "sb_schemathesis";
    let (mut server, base) = support::spawn_server(data.path(), token, &[]).await;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/schemathesis/schemathesis.toml");
    // Schemathesis keeps a cache in its working directory; the data
    // directory is thrown away with the test.
    let out = tokio::process::Command::new(schemathesis())
        .current_dir(data.path())
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{base}/api/openapi.json"), "--url", &base])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        // Deterministic generation makes a failure reproducible from the
        // log and keeps CI from finding different things on each run.
        .args(["--checks", "all", "--max-examples", "30", "--generation-deterministic", "--no-color"])
        .output()
        .await
        .expect("run schemathesis");
    let _ = server.kill().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().rev().find(|l| l.contains(" generated, ")).unwrap_or_default().trim().to_owned();
    println!("schemathesis: {summary}");
    assert!(out.status.success(), "schemathesis found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let generated: u64 =
        summary.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no count in {summary:?}"));
    assert!(generated >= 1000, "schemathesis ran only {generated} requests: {summary}");
    assert!(summary.contains(&format!("{generated} passed")), "{summary}");
}
