//! The key that seals plugin secrets at rest.
//!
//! Secrets (settings a manifest's schema marks `writeOnly`) are sealed
//! with ChaCha20-Poly1305 before they reach the store, so the database
//! and its backups hold only ciphertext. The key lives in a file beside
//! the data directory (`<data>.key` by default), not in it, so that a copy
//! of the data directory alone does not reveal the secrets. It is made on
//! the first secret ever sealed, readable by its owner only, and made
//! durable before that secret is acknowledged; a server whose teams set no
//! secret never needs one.
//!
//! Each sealed value is bound to its team, plugin and name (the AEAD's
//! associated data), so a sealed value copied to another installation or
//! another name does not open.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use switchboard_core::Installation;
use switchboard_runtime::Secrets;

/// The length of the key in bytes.
const KEY_LEN: usize = 32;

/// The prefix of every sealed value, naming its format.
const SEALED_V1: &str = "v1:";

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    /// The key file could not be read or written.
    #[error("secret key file \"{path}\": {source}")]
    Io {
        /// The key file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The key file does not hold a key.
    #[error("secret key file \"{path}\" is malformed: {reason}")]
    Malformed {
        /// The key file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A secret is stored but the key file is gone.
    #[error("secret key file \"{0}\" is missing, so stored secrets cannot be read; restore it from a backup")]
    Missing(String),
    /// A sealed value does not open with this key.
    #[error("secret \"{name}\" of plugin \"{plugin}\" in team \"{team}\" does not open with the key in \"{path}\"")]
    Unreadable {
        /// The team.
        team: String,
        /// The plugin.
        plugin: String,
        /// The secret's name.
        name: String,
        /// The key file.
        path: String,
    },
    /// The system's random source failed.
    #[error("no random bytes for a secret: {0}")]
    Random(String),
}

/// The sealing key, loaded at start or made on first use.
pub struct SecretKey {
    path: PathBuf,
    key: OnceLock<LessSafeKey>,
    /// Held while the key file is made, so two first secrets at once make
    /// one key.
    making: Mutex<()>,
}

impl SecretKey {
    /// The key in `path`, read now if the file exists so that a malformed
    /// file stops the server at start rather than at the first secret.
    pub fn open(path: impl Into<PathBuf>) -> Result<SecretKey, SecretKeyError> {
        let path = path.into();
        let key = OnceLock::new();
        if let Some(loaded) = read_key(&path)? {
            let _ = key.set(loaded);
        }
        Ok(SecretKey { path, key, making: Mutex::new(()) })
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Seals `value` as the secret `name` of `plugin` in `team`, making the
    /// key file first if there is none.
    pub fn seal(&self, team: &str, plugin: &str, name: &str, value: &str) -> Result<String, SecretKeyError> {
        let key = self.key_or_make()?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SecretKeyError::Random(e.to_string()))?;
        let mut sealed = value.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated(team, plugin, name)),
            &mut sealed,
        )
        .map_err(|_| SecretKeyError::Random("sealing failed".into()))?;
        Ok(format!("{SEALED_V1}{}{}", hex::encode(nonce), hex::encode(sealed)))
    }

    /// Opens the secret `name` of `plugin` in `team`.
    pub fn open_secret(&self, team: &str, plugin: &str, name: &str, sealed: &str) -> Result<String, SecretKeyError> {
        let Some(key) = self.key.get() else {
            return Err(SecretKeyError::Missing(self.path.display().to_string()));
        };
        let unreadable = || SecretKeyError::Unreadable {
            team: team.to_owned(),
            plugin: plugin.to_owned(),
            name: name.to_owned(),
            path: self.path.display().to_string(),
        };
        let bytes = sealed.strip_prefix(SEALED_V1).and_then(|h| hex::decode(h).ok()).ok_or_else(unreadable)?;
        if bytes.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unreadable())?;
        let mut in_out = ciphertext.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(associated(team, plugin, name)), &mut in_out)
            .map_err(|_| unreadable())?;
        String::from_utf8(plain.to_vec()).map_err(|_| unreadable())
    }

    /// Opens every secret of `installation`, for a call of its plugin.
    pub fn secrets_of(&self, installation: &Installation) -> Result<Secrets, SecretKeyError> {
        if installation.secrets.is_empty() {
            return Ok(Secrets::default());
        }
        let (team, plugin) = (&installation.team, &installation.plugin);
        let open =
            |(name, sealed): (&String, &String)| Ok((name.clone(), self.open_secret(team, plugin, name, sealed)?));
        Ok(Secrets::new(installation.secrets.iter().map(open).collect::<Result<_, SecretKeyError>>()?))
    }

    fn key_or_make(&self) -> Result<&LessSafeKey, SecretKeyError> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let _making = self.making.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let made = match read_key(&self.path)? {
            Some(key) => key,
            None => make_key(&self.path)?,
        };
        Ok(self.key.get_or_init(|| made))
    }
}

/// The associated data binding a sealed value to where it belongs.
fn associated(team: &str, plugin: &str, name: &str) -> Vec<u8> {
    format!("switchboard secret\0{team}\0{plugin}\0{name}").into_bytes()
}

/// Reads the key file: 64 hex digits and an optional newline. `None` when
/// there is no file.
fn read_key(path: &Path) -> Result<Option<LessSafeKey>, SecretKeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SecretKeyError::Io { path: path.display().to_string(), source }),
    };
    let malformed =
        |reason: &str| SecretKeyError::Malformed { path: path.display().to_string(), reason: reason.into() };
    let bytes = hex::decode(text.trim_end()).map_err(|_| malformed("expected 64 hexadecimal digits"))?;
    if bytes.len() != KEY_LEN {
        return Err(malformed("expected 64 hexadecimal digits"));
    }
    warn_if_shared(path);
    Ok(Some(to_key(&bytes)?))
}

/// Makes a new key file, readable by its owner only, and makes it and its
/// directory entry durable.
fn make_key(path: &Path) -> Result<LessSafeKey, SecretKeyError> {
    let io = |source| SecretKeyError::Io { path: path.display().to_string(), source };
    let mut bytes = [0u8; KEY_LEN];
    getrandom::fill(&mut bytes).map_err(|e| SecretKeyError::Random(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    tracing::info!(path = %path.display(), "made the key that seals plugin secrets; back it up apart from the data");
    to_key(&bytes)
}

fn to_key(bytes: &[u8]) -> Result<LessSafeKey, SecretKeyError> {
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, bytes)
        .map_err(|_| SecretKeyError::Random("the key has the wrong length".into()))?;
    Ok(LessSafeKey::new(unbound))
}

/// Logs a warning when others than the owner may read the key file.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the secret key file is readable by others than its owner; chmod 600 it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_where_it_was_sealed() {
        let dir = tempfile::tempdir().expect("dir");
        let key = SecretKey::open(dir.path().join("data.key")).expect("key");
        let sealed = key.seal("ops", "hook", "signing_key", "hunter2-hunter2").expect("seal");
        assert!(!sealed.contains("hunter2"), "{sealed}");
        assert_eq!(key.open_secret("ops", "hook", "signing_key", &sealed).expect("open"), "hunter2-hunter2");
        for (team, plugin, name) in
            [("sales", "hook", "signing_key"), ("ops", "other", "signing_key"), ("ops", "hook", "api")]
        {
            assert!(matches!(key.open_secret(team, plugin, name, &sealed), Err(SecretKeyError::Unreadable { .. })));
        }
        // The same key is read back after a restart.
        let again = SecretKey::open(dir.path().join("data.key")).expect("key again");
        assert_eq!(again.open_secret("ops", "hook", "signing_key", &sealed).expect("open"), "hunter2-hunter2");
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_made_on_first_use_for_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("data.key");
        let key = SecretKey::open(&path).expect("key");
        assert!(!path.exists(), "no key file before a secret is sealed");
        key.seal("ops", "hook", "k", "v").expect("seal");
        let mode = std::fs::metadata(&path).expect("made").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_or_malformed_key_file_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("data.key");
        let sealed = SecretKey::open(&path).expect("key").seal("ops", "hook", "k", "v").expect("seal");
        std::fs::remove_file(&path).expect("remove");
        let err =
            SecretKey::open(&path).expect("no file yet").open_secret("ops", "hook", "k", &sealed).expect_err("gone");
        assert!(err.to_string().contains("is missing"), "{err}");
        std::fs::write(&path, "not a key\n").expect("write");
        let err = SecretKey::open(&path).err().expect("malformed");
        assert!(err.to_string().ends_with("is malformed: expected 64 hexadecimal digits"), "{err}");
    }
}
