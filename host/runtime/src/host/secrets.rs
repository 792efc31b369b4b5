//! `secrets` and `digest`: work with the installation's secrets done by the
//! host, so that a signing key need not enter the guest, and hashing at
//! native speed (a pure-JavaScript HMAC over a 100 KB webhook body does not
//! fit a call's CPU budget).

use ring::hmac;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::bindings::channel::switchboard::plugin::{digest, secrets};
use crate::bindings::wit::PluginError;
use crate::host::HostState;

impl HostState {
    /// The secret `name`, or `not-found` naming it.
    fn secret(&self, name: &str) -> Result<&str, PluginError> {
        self.scope.secrets.get(name).ok_or_else(|| {
            PluginError::NotFound(format!("secret \"{name}\" is not set for plugin \"{}\"", self.scope.plugin))
        })
    }

    /// The HMAC-SHA256 key of the secret `name`.
    fn hmac_key(&self, name: &str) -> Result<hmac::Key, PluginError> {
        Ok(hmac::Key::new(hmac::HMAC_SHA256, self.secret(name)?.as_bytes()))
    }
}

impl secrets::Host for HostState {
    async fn is_set(&mut self, name: String) -> bool {
        self.scope.secrets.get(&name).is_some()
    }

    async fn hmac_sha256(&mut self, name: String, data: Vec<u8>) -> Result<Vec<u8>, PluginError> {
        Ok(hmac::sign(&self.hmac_key(&name)?, &data).as_ref().to_vec())
    }

    async fn verify_hmac_sha256(&mut self, name: String, data: Vec<u8>, mac: Vec<u8>) -> Result<bool, PluginError> {
        // ring compares the tags in constant time.
        Ok(hmac::verify(&self.hmac_key(&name)?, &data, &mac).is_ok())
    }

    async fn reveal(&mut self, name: String) -> Result<String, PluginError> {
        self.secret(&name).map(str::to_owned)
    }
}

impl digest::Host for HostState {
    async fn sha256(&mut self, data: Vec<u8>) -> Vec<u8> {
        Sha256::digest(&data).to_vec()
    }

    async fn constant_time_equal(&mut self, a: Vec<u8>, b: Vec<u8>) -> bool {
        a.ct_eq(&b).into()
    }
}
