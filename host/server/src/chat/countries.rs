//! The visitor's country, from a MaxMind-format (`.mmdb`) database the
//! admin configures: MaxMind's GeoLite2 or GeoIP2 Country, or a database
//! with a top-level `country_code`, such as the CC0 ip-location-db ones.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{Reader, path};

/// The database could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the country database \"{path}\": {reason}")]
pub struct CountryError {
    /// Where it was looked for.
    pub path: PathBuf,
    /// Why it failed.
    pub reason: String,
}

/// An open country database, in memory.
pub struct CountryDb {
    reader: Reader<Vec<u8>>,
}

impl CountryDb {
    /// Opens the database at `path`, checking that it reads.
    pub fn open(path: &Path) -> Result<CountryDb, CountryError> {
        let reader =
            Reader::open_readfile(path).map_err(|e| CountryError { path: path.to_owned(), reason: e.to_string() })?;
        Ok(CountryDb { reader })
    }

    /// The country of `addr`, ISO 3166 alpha-2 uppercase, if the database
    /// knows it.
    pub fn country(&self, addr: IpAddr) -> Option<String> {
        let found = self.reader.lookup(addr).ok()?;
        let code: Option<&str> = found
            .decode_path(&path!["country_code"])
            .ok()
            .flatten()
            .or_else(|| found.decode_path(&path!["country", "iso_code"]).ok().flatten());
        code.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic())).map(str::to_ascii_uppercase)
    }
}
