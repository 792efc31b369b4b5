//! The WIT package is a contract: a published version never changes, the
//! working copy is the newest published version, and the host links every
//! published version.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn wit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit")
}

fn wit_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read wit dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wit"))
        .collect();
    files.sort();
    files
}

#[test]
fn published_versions_are_unchanged() {
    let published = wit_dir().join("published");
    let sums = std::fs::read_to_string(published.join("SHA256SUMS")).expect("SHA256SUMS");
    let mut listed = BTreeSet::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, file) = line.split_once("  ").expect("sha256sum format");
        let bytes = std::fs::read(published.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sum, "published {file} was changed; add a new version instead");
        listed.insert(file.to_owned());
    }
    // Every file of every published version is covered by a sum.
    for version in
        std::fs::read_dir(&published).expect("published").map(|e| e.expect("entry").path()).filter(|p| p.is_dir())
    {
        for file in wit_files(&version) {
            let rel = file.strip_prefix(&published).expect("prefix").to_string_lossy().into_owned();
            assert!(listed.contains(&rel), "{rel} has no sum in SHA256SUMS");
        }
    }
}

#[test]
fn the_working_copy_is_the_newest_published_version_and_every_version_is_linked() {
    let published = wit_dir().join("published");
    let mut versions: Vec<(u64, u64, u64, String)> = std::fs::read_dir(&published)
        .expect("published")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            let (a, b, c) = switchboard_core::parse_version("wit", &name).expect("version dir");
            (a, b, c, name)
        })
        .collect();
    versions.sort();
    let names: Vec<&str> = versions.iter().map(|v| v.3.as_str()).collect();
    assert_eq!(names, switchboard_runtime::SUPPORTED_WIT, "the host must link every published version");
    let newest = published.join(&versions.last().expect("a version").3);
    let current = wit_files(&wit_dir());
    let frozen = wit_files(&newest);
    assert_eq!(current.len(), frozen.len());
    for (a, b) in current.iter().zip(&frozen) {
        assert_eq!(a.file_name(), b.file_name());
        assert_eq!(
            std::fs::read(a).expect("read"),
            std::fs::read(b).expect("read"),
            "{} differs from the newest published version; publish a new version",
            a.display()
        );
    }
}

#[test]
fn every_wit_item_is_documented() {
    // Every interface, world, type, case, field and function carries a `///`
    // comment on the line above it. A world's imports, exports and
    // includes name items documented where they are defined.
    for file in wit_files(&wit_dir()) {
        let text = std::fs::read_to_string(&file).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim();
            let is_item = !t.is_empty()
                && !t.starts_with("//")
                && !t.starts_with("package ")
                && !t.starts_with("use ")
                && !t.starts_with("import ")
                && !t.starts_with("export ")
                && !t.starts_with("include ")
                && !t.starts_with('@')
                && t != "}"
                && t != "});";
            if !is_item {
                continue;
            }
            let mut j = i;
            while j > 0 && lines[j - 1].trim().starts_with('@') {
                j -= 1;
            }
            let above = if j == 0 { "" } else { lines[j - 1].trim() };
            assert!(above.starts_with("///"), "{}:{}: `{t}` has no /// comment", file.display(), i + 1);
        }
    }
}
