//! The guest components of Switchboard, built for `wasm32-wasip2` by this
//! crate's build script: the shipped plugins (embedded, see [`BUNDLED`]),
//! the examples and the test fixtures (by path).

/// A guest component on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guest {
    /// The cargo package name.
    pub name: &'static str,
    /// `plugins`, `examples` or `fixtures`.
    pub group: &'static str,
    /// The built component.
    pub wasm: &'static str,
    /// Its `plugin.toml`; may not exist for fixtures that test manifests.
    pub manifest: &'static str,
}

impl Guest {
    /// The component's bytes.
    pub fn wasm_bytes(&self) -> Vec<u8> {
        std::fs::read(self.wasm).unwrap_or_else(|e| panic!("read {}: {e}", self.wasm))
    }

    /// The manifest's text.
    pub fn manifest_text(&self) -> String {
        std::fs::read_to_string(self.manifest).unwrap_or_else(|e| panic!("read {}: {e}", self.manifest))
    }
}

/// A plugin that ships inside the server.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// Its `plugin.toml`.
    pub manifest: &'static str,
    /// Its component.
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
