//! Where the server keeps its data: sled in a directory (the default), or
//! a PostgreSQL database that several servers share.

use std::path::PathBuf;
use std::str::FromStr;

/// The store a server opens, as `--store` names it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `sled:<dir>`: an embedded database in this directory.
    Sled(PathBuf),
    /// `postgres://…`: a PostgreSQL database, by its libpq URL.
    Postgres(String),
}

impl FromStr for StoreLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(dir) = s.strip_prefix("sled:") {
            if dir.is_empty() {
                return Err("store \"sled:\" needs a directory, as in sled:/var/lib/switchboard/db".to_owned());
            }
            return Ok(StoreLocation::Sled(PathBuf::from(dir)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(s.to_owned()));
        }
        Err(format!("unknown store \"{}\": use sled:<dir> or postgres://…", redact(s)))
    }
}

/// A URL with its password hidden, for logs and errors.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            let slash = if rest.contains('/') { "/" } else { "" };
            format!("{scheme}://{user}:***@{host}{slash}{path}")
        }
        None => url.to_owned(),
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sled(dir) => write!(f, "sled:{}", dir.display()),
            StoreLocation::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_parse_and_anything_else_is_named() {
        assert_eq!("sled:/tmp/db".parse(), Ok(StoreLocation::Sled("/tmp/db".into())));
        let pg = "postgres://sb:secret@db:5432/helpdesk";
        assert_eq!(pg.parse(), Ok(StoreLocation::Postgres(pg.to_owned())));
        let err = "mysql://root:pw@db/x".parse::<StoreLocation>().expect_err("refused");
        assert!(err.contains("unknown store \"mysql://root:***@db/x\""), "{err}");
        assert!("sled:".parse::<StoreLocation>().is_err());
    }

    #[test]
    fn passwords_never_reach_logs() {
        let location: StoreLocation = "postgres://sb:secret@db/helpdesk".parse().expect("parse");
        let shown = format!("{location:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(shown, "postgres://sb:***@db/helpdesk");
    }
}
