//! Precompiled components on disk, so that a restart does not recompile.
//!
//! Files live in `<cache dir>/<engine hash>/<component sha256>.cwasm`. The
//! engine hash is derived from wasmtime's compatibility hash (its version
//! and every setting that changes code generation), so a new wasmtime or a
//! new setting uses a new directory instead of misreading old files.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::RuntimeError;

/// A [`Hasher`] that feeds SHA-256, so that the engine's compatibility hash
/// becomes a stable directory name.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        // Only `write` is used; the digest is read from the inner state.
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The precompiled-component cache of one engine.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    /// The name of `dir`: what identifies the engine's code generation.
    engine_key: String,
}

/// What names an engine's precompiled code: wasmtime's compatibility hash
/// (its version and every setting that changes code generation), hex.
pub(crate) fn engine_key(engine: &Engine) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..12])
}

/// Writes `bytes` to `path` and makes them durable, so that the file is
/// complete before anyone renames it into place.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::File::create(path).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
}

fn cache_error(path: &Path, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Cache { path: path.display().to_string(), reason: e.to_string() }
}

impl Cache {
    /// Opens (creating) the cache directory for `engine` under `root`.
    pub(crate) fn open(root: &Path, engine: &Engine) -> Result<Cache, RuntimeError> {
        let engine_key = engine_key(engine);
        let dir = root.join(&engine_key);
        std::fs::create_dir_all(&dir).map_err(|e| cache_error(&dir, e))?;
        Ok(Cache { dir, engine_key })
    }

    /// The key of the engine this cache serves.
    pub(crate) fn engine_key(&self) -> &str {
        &self.engine_key
    }

    /// A fresh name in the cache directory for a file being written. It
    /// never ends in `.cwasm`, so a half-written file is never loaded.
    pub(crate) fn temporary_path(&self, sha256: &str) -> PathBuf {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{sha256}.{}.{n}.tmp", std::process::id()))
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.cwasm"))
    }

    /// Loads the precompiled component with this hash, if this host wrote
    /// one. A file that does not load is removed and reported as absent.
    pub(crate) fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(sha256);
        if !path.is_file() {
            return None;
        }
        match deserialize(engine, &path) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "dropping an unusable precompiled component");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Compiles `wasm`, writes the precompiled form, and loads it.
    pub(crate) fn compile(
        &self,
        engine: &Engine,
        plugin: &str,
        sha256: &str,
        wasm: &[u8],
    ) -> Result<Component, RuntimeError> {
        let compiled = engine
            .precompile_component(wasm)
            .map_err(|e| RuntimeError::InvalidComponent { plugin: plugin.to_owned(), reason: format!("{e:#}") })?;
        // Write to a temporary name and rename, so that a crash never
        // leaves a half-written file under the real name.
        let tmp = self.temporary_path(sha256);
        if let Err(e) = write_synced(&tmp, &compiled) {
            let _ = std::fs::remove_file(&tmp);
            return Err(cache_error(&tmp, e));
        }
        self.adopt(engine, sha256, &tmp)
    }

    /// Moves a precompiled file that this host's own compiler wrote (into
    /// [`Cache::temporary_path`], synced) under its real name, and loads it.
    pub(crate) fn adopt(&self, engine: &Engine, sha256: &str, written: &Path) -> Result<Component, RuntimeError> {
        let path = self.path(sha256);
        if let Err(e) = std::fs::rename(written, &path) {
            let _ = std::fs::remove_file(written);
            return Err(cache_error(&path, e));
        }
        deserialize(engine, &path).map_err(|e| cache_error(&path, e))
    }
}

/// Loads a precompiled component.
///
/// This is the one place where the host uses `unsafe`. Wasmtime cannot
/// check that precompiled code is what it claims to be, so
/// `Component::deserialize_file` is unsafe: loading a file someone else
/// wrote could run arbitrary native code. It is sound here because the only
/// files this reads are ones [`Cache::compile`] wrote itself, or this
/// host's own binary wrote as its compiler process, into the
/// server's own data directory, named by the SHA-256 of the component and
/// kept in a directory keyed by this engine's compatibility hash; wasmtime
/// also checks the file's header against the engine and refuses a mismatch.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: see above; `path` is a file this host precompiled with an
    // engine of the same configuration.
    unsafe { Component::deserialize_file(engine, path) }
}
