//! Where a command's record store is: the embedded sled database in a directory (`--data
//! DIR`, the default `data`), or a PostgreSQL database (`--store postgres://…`, or the
//! environment variable `CREDIT_RULES_STORE`), which several processes can use at once.

use std::path::{Path, PathBuf};

use super::{PgStore, RecordStore, SledStore, StoreError};

/// The environment variable that names a PostgreSQL store for every command.
pub const STORE_ENV: &str = "CREDIT_RULES_STORE";

/// A store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A sled database directory.
    Sled(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl StoreLocation {
    /// The store `--store` names (a `postgres://` or `postgresql://` URL), else the sled
    /// directory `--data`.
    pub fn choose(data: &Path, store: Option<&str>) -> Result<StoreLocation, StoreError> {
        match store.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(StoreLocation::Sled(data.to_path_buf())),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(url.to_owned()))
            }
            Some(other) => Err(StoreError::Backend {
                path: other.to_owned(),
                message: format!(
                    "--store (or {STORE_ENV}) takes a PostgreSQL URL such as \
                     postgres://user@host:5432/db; for a sled directory use --data DIR"
                ),
            }),
        }
    }

    /// Opens (or creates) the store.
    pub fn open(&self) -> Result<Box<dyn RecordStore>, StoreError> {
        Ok(match self {
            StoreLocation::Sled(dir) => Box::new(SledStore::open(dir)?),
            StoreLocation::Postgres(url) => Box::new(PgStore::open(url)?),
        })
    }

    /// Whether an existing store is there (a read-only command must not create one): a
    /// sled directory with its `conf` file; a PostgreSQL URL always (opening says more).
    pub fn exists(&self) -> bool {
        match self {
            StoreLocation::Sled(dir) => dir.join("conf").is_file(),
            StoreLocation::Postgres(_) => true,
        }
    }

    /// For messages: the directory, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            StoreLocation::Sled(dir) => dir.display().to_string(),
            StoreLocation::Postgres(url) => super::postgres::redacted(url),
        }
    }

    /// Whether it is the embedded sled store.
    pub fn is_sled(&self) -> bool {
        matches!(self, StoreLocation::Sled(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_wins_over_the_directory_and_other_text_is_refused() {
        let data = Path::new("data");
        assert_eq!(
            StoreLocation::choose(data, None),
            Ok(StoreLocation::Sled(data.into()))
        );
        assert_eq!(
            StoreLocation::choose(data, Some("postgres://127.0.0.1/test")),
            Ok(StoreLocation::Postgres("postgres://127.0.0.1/test".into()))
        );
        let err = StoreLocation::choose(data, Some("/var/lib/credit")).expect_err("not a URL");
        assert!(err.to_string().contains("--data DIR"), "{err}");
        let location = StoreLocation::Postgres("postgres://app:secret@db/credit".into());
        assert_eq!(location.describe(), "postgres://app:***@db/credit");
    }
}
