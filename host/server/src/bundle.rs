//! Plugin bundles: one file holding a plugin's manifest, component and
//! README, optionally signed by its vendor with an ed25519 key.
//!
//! The format is plain so that it can be read without this code:
//!
//! ```text
//! switchboard-bundle 1\n
//! manifest <bytes>\n<the manifest>\n
//! component <bytes>\n<the component>\n
//! readme <bytes>\n<the README>\n
//! signature 96\n<32-byte public key><64-byte signature>\n   (when signed)
//! ```
//!
//! The signature is over the SHA-256 of each part, so it covers the whole
//! manifest (its capabilities included): nobody can widen what a signed
//! plugin asks for, swap its component or change its README without the
//! signature failing. ed25519 comes from `ring`, which the server already
//! uses for TLS and secrets.

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

/// The first line of every bundle.
const MAGIC: &[u8] = b"switchboard-bundle 1\n";

/// What the signature signs, before the parts' hashes.
const SIGNED_CONTEXT: &[u8] = b"switchboard-bundle 1 signature\n";

/// The parts in the order a bundle holds them.
const PARTS: [&str; 3] = ["manifest", "component", "readme"];

/// The longest header line (`component 4294967296`), so that a bundle
/// without newlines is refused at once.
const MAX_HEADER: usize = 32;

/// Why a bundle was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The file is not a bundle, or is cut short or malformed.
    #[error("not a plugin bundle: {0}")]
    Malformed(String),
    /// The bundle has no signature and unsigned bundles are not allowed.
    #[error(
        "the bundle is not signed; sign it with `switchboard plugin sign`, or start the server with --allow-unsigned-bundles"
    )]
    Unsigned,
    /// The signature does not match the content.
    #[error(
        "the signature does not match the bundle's content: its manifest, component or README changed after signing"
    )]
    BadSignature,
    /// The signature is good but its key is not trusted.
    #[error("the bundle is signed by key {0}, which is not among the trusted vendor keys")]
    Untrusted(String),
}

/// A bundle's parts and its signature, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The manifest text (`plugin.toml`).
    pub manifest: String,
    /// The WebAssembly component.
    pub component: Vec<u8>,
    /// The README text.
    pub readme: String,
    /// The vendor's public key and signature.
    pub signature: Option<([u8; 32], Vec<u8>)>,
}

impl Bundle {
    /// An unsigned bundle of these parts.
    pub fn new(manifest: String, component: Vec<u8>, readme: String) -> Bundle {
        Bundle { manifest, component, readme, signature: None }
    }

    /// The bundle as a file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for (name, bytes) in PARTS.iter().zip([self.manifest.as_bytes(), &self.component, self.readme.as_bytes()]) {
            push_part(&mut out, name, bytes);
        }
        if let Some((key, signature)) = &self.signature {
            push_part(&mut out, "signature", &[key.as_slice(), signature].concat());
        }
        out
    }

    /// Reads a bundle file. One pass; every length is checked against what
    /// is left before anything is copied.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let mut rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| BundleError::Malformed("it does not start with \"switchboard-bundle 1\"".into()))?;
        let mut parts = Vec::with_capacity(PARTS.len());
        for name in PARTS {
            let (part, after) = take_part(rest, name)?;
            parts.push(part);
            rest = after;
        }
        let signature = if rest.is_empty() {
            None
        } else {
            let (part, after) = take_part(rest, "signature")?;
            if !after.is_empty() {
                return Err(BundleError::Malformed("there are bytes after the signature".into()));
            }
            let (key, signature) = part.split_at_checked(32).filter(|(_, s)| s.len() == 64).ok_or_else(|| {
                BundleError::Malformed("the signature part is not a 32-byte key and a 64-byte signature".into())
            })?;
            Some((<[u8; 32]>::try_from(key).map_err(|_| BundleError::BadSignature)?, signature.to_vec()))
        };
        let text = |i: usize, name: &str| {
            String::from_utf8(parts[i].to_vec()).map_err(|_| BundleError::Malformed(format!("the {name} is not UTF-8")))
        };
        Ok(Bundle {
            manifest: text(0, "manifest")?,
            component: parts[1].to_vec(),
            readme: text(2, "readme")?,
            signature,
        })
    }

    /// Signs the bundle with `key`, replacing any signature.
    pub fn sign(&mut self, key: &VendorKey) {
        let signature = key.pair.sign(&self.signed_message());
        self.signature = Some((key.public(), signature.as_ref().to_vec()));
    }

    /// Checks the signature against the trusted keys. Returns the signing
    /// key (hex), or `None` for an unsigned bundle when `allow_unsigned`.
    pub fn verify(&self, trusted: &[[u8; 32]], allow_unsigned: bool) -> Result<Option<String>, BundleError> {
        let Some((key, signature)) = &self.signature else {
            return if allow_unsigned { Ok(None) } else { Err(BundleError::Unsigned) };
        };
        UnparsedPublicKey::new(&ED25519, key)
            .verify(&self.signed_message(), signature)
            .map_err(|_| BundleError::BadSignature)?;
        if !trusted.contains(key) {
            return Err(BundleError::Untrusted(hex::encode(key)));
        }
        Ok(Some(hex::encode(key)))
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut message = SIGNED_CONTEXT.to_vec();
        for part in [self.manifest.as_bytes(), &self.component, self.readme.as_bytes()] {
            message.extend_from_slice(&Sha256::digest(part));
        }
        message
    }
}

fn push_part(out: &mut Vec<u8>, name: &str, bytes: &[u8]) {
    out.extend_from_slice(format!("{name} {}\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

/// Takes the part `name` off the front of `rest`.
fn take_part<'a>(rest: &'a [u8], name: &str) -> Result<(&'a [u8], &'a [u8]), BundleError> {
    let malformed = |why: &str| BundleError::Malformed(format!("{name}: {why}"));
    let end = rest.iter().take(MAX_HEADER).position(|&b| b == b'\n').ok_or_else(|| malformed("no header line"))?;
    let header = std::str::from_utf8(&rest[..end]).map_err(|_| malformed("the header is not text"))?;
    let len = header
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix(' '))
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| malformed(&format!("expected \"{name} <bytes>\", found \"{header}\"")))?;
    let body = &rest[end + 1..];
    if body.len() < len.saturating_add(1) || body[len] != b'\n' {
        return Err(malformed("cut short"));
    }
    Ok((&body[..len], &body[len + 1..]))
}

/// A vendor's signing key.
pub struct VendorKey {
    pair: Ed25519KeyPair,
}

impl VendorKey {
    /// A new random key and its seed, to be kept secret.
    pub fn generate() -> Result<(VendorKey, [u8; 32]), String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| format!("no random bytes: {e}"))?;
        Ok((VendorKey::from_seed(&seed)?, seed))
    }

    /// The key with this 32-byte seed.
    pub fn from_seed(seed: &[u8]) -> Result<VendorKey, String> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| "a key seed is 32 bytes".to_owned())?;
        Ok(VendorKey { pair })
    }

    /// The public key, which admins add to their trusted keys.
    pub fn public(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        key
    }
}

/// Parses a public key written as 64 hexadecimal digits.
pub fn parse_public_key(text: &str) -> Result<[u8; 32], String> {
    hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| format!("trusted key \"{}\" is not 64 hexadecimal digits", text.trim()))
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
