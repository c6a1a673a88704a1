//! The token file kept up to date while the service runs, and its administration (console
//! and `credit-rules tokens`).
//!
//! File format (JSON, mode 0600): `{"tokens": [{"name", "role", "sector"?, "sha256"}]}` —
//! the holder's name, the role (`city_office`, `bureau`, `evaluator`, `intake`), a bureau's
//! sector as rule-set headers spell it, and the lower-case hex SHA-256 of the token. Plain
//! tokens are never stored: creating or rotating one shows it once. A token is named in
//! lists and commands by its fingerprint, the first 12 hex digits of its hash.
//!
//! Every change is written atomically (a private temporary file in the same folder, then
//! renamed over the file), and a running `serve` reloads the file when its modification
//! time or size changes, so changes from the CLI or another process apply at once; a file
//! that does not parse is logged and the last good table kept.

use super::auth::{Role, TokenEntry, TokenFile, Tokens, hash_token};
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Digits of a token's hash that name it.
pub const FINGERPRINT_DIGITS: usize = 12;

/// A token's fingerprint.
pub fn fingerprint(entry: &TokenEntry) -> String {
    entry
        .sha256
        .get(..FINGERPRINT_DIGITS)
        .unwrap_or(&entry.sha256)
        .to_owned()
}

/// The configured tokens, reloaded from their file when it changes.
pub struct TokenTable {
    current: ArcSwap<Tokens>,
    file: Option<PathBuf>,
    seen: Mutex<Option<(SystemTime, u64, u64)>>,
}

/// What tells a changed file: modification time, size and (Unix) inode — an atomic
/// replacement is a new inode even within one clock tick.
fn stamp(path: &Path) -> Option<(SystemTime, u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

impl TokenTable {
    /// A table that never changes (tests, in-process use).
    pub fn fixed(tokens: Tokens) -> TokenTable {
        TokenTable {
            current: ArcSwap::from_pointee(tokens),
            file: None,
            seen: Mutex::new(None),
        }
    }

    /// A table read from `path` and reloaded when the file changes.
    pub fn from_file(path: &Path) -> Result<TokenTable, String> {
        let seen = stamp(path);
        let tokens = Tokens::load(path)?;
        Ok(TokenTable {
            current: ArcSwap::from_pointee(tokens),
            file: Some(path.to_owned()),
            seen: Mutex::new(seen),
        })
    }

    /// The tokens now (the file is re-read first if it changed).
    pub fn current(&self) -> Arc<Tokens> {
        if let Some(path) = &self.file {
            let now = stamp(path);
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if now != *seen {
                *seen = now;
                match Tokens::load(path) {
                    Ok(tokens) => {
                        self.current.store(Arc::new(tokens));
                        tracing::info!(file = %path.display(), "token file reloaded");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "token file not reloaded; the previous tokens stay in force")
                    }
                }
            }
        }
        self.current.load_full()
    }

    /// The file behind the table, if any (the console changes it).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

/// Why a token change failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenAdminError {
    /// The file cannot be read, parsed or written.
    #[error("{0}")]
    File(String),
    /// No token has this fingerprint.
    #[error("no token has the fingerprint `{0}`; `credit-rules tokens list` shows them")]
    Unknown(String),
    /// A fingerprint prefix names several tokens.
    #[error("`{0}` names more than one token; give more digits of the fingerprint")]
    Ambiguous(String),
    /// A bureau token without a sector, a blank name, or a sector on another role.
    #[error("{0}")]
    Invalid(String),
    /// No random source.
    #[error("cannot make a random token: {0}")]
    Random(std::io::Error),
}

/// Reads a token file (an absent file is an empty one).
pub fn read_file(path: &Path) -> Result<TokenFile, TokenAdminError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            TokenAdminError::File(format!(
                "`{}` is not a valid token file: {e}",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(e) => Err(TokenAdminError::File(format!(
            "cannot read `{}`: {e}",
            path.display()
        ))),
    }
}

/// Writes a token file atomically, readable by this user only.
pub fn write_file(path: &Path, file: &TokenFile) -> Result<(), TokenAdminError> {
    use std::io::Write;
    let io = |e: std::io::Error| {
        TokenAdminError::File(format!("cannot write `{}`: {e}", path.display()))
    };
    Tokens::new(file.clone()).map_err(TokenAdminError::Invalid)?;
    let json =
        serde_json::to_string_pretty(file).map_err(|e| TokenAdminError::File(e.to_string()))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let suffix = crate::console::session::hex(
        &crate::console::session::random_bytes::<6>().map_err(TokenAdminError::Random)?,
    );
    let temp = dir.join(format!(
        ".{}.{suffix}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("tokens.json")
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut f| {
        f.write_all(json.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(io(e));
    }
    Ok(())
}

/// A fresh random token (48 hex digits).
pub fn new_plain_token() -> Result<String, TokenAdminError> {
    let bytes = crate::console::session::random_bytes::<24>().map_err(TokenAdminError::Random)?;
    Ok(crate::console::session::hex(&bytes))
}

fn check_fields(name: &str, role: Role, sector: Option<&str>) -> Result<(), TokenAdminError> {
    if name.trim().is_empty() {
        return Err(TokenAdminError::Invalid(
            "a token needs the holder's name".into(),
        ));
    }
    match (role, sector.map(str::trim).filter(|s| !s.is_empty())) {
        (Role::Bureau, None) => Err(TokenAdminError::Invalid(
            "a bureau token needs its sector, as rule-set headers spell it (e.g. 水务)".into(),
        )),
        (Role::Bureau, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(TokenAdminError::Invalid(
            "only bureau tokens have a sector".into(),
        )),
    }
}

/// Holds an exclusive lock on `FILE.lock` beside the token file for the life of the value,
/// so that two changes (the console and `credit-rules tokens`, or two console requests) do
/// not each read the file and write back their own copy, losing the other's change (a
/// revoked token coming back).
struct ChangeLock(std::fs::File);

impl ChangeLock {
    fn take(path: &Path) -> Result<ChangeLock, TokenAdminError> {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        let io = |e: std::io::Error| {
            TokenAdminError::File(format!(
                "cannot lock `{}` for a change: {e}",
                Path::new(&name).display()
            ))
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(ChangeLock(file))
    }
}

impl Drop for ChangeLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first says so.
        let _ = self.0.unlock();
    }
}

/// Adds a token to the file; returns the plain token (shown once) and its entry.
pub fn create(
    path: &Path,
    name: &str,
    role: Role,
    sector: Option<&str>,
) -> Result<(String, TokenEntry), TokenAdminError> {
    check_fields(name, role, sector)?;
    let _lock = ChangeLock::take(path)?;
    let mut file = read_file(path)?;
    let plain = new_plain_token()?;
    let entry = TokenEntry {
        name: name.trim().to_owned(),
        role,
        sector: sector
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        sha256: hash_token(&plain),
    };
    file.tokens.push(entry.clone());
    write_file(path, &file)?;
    Ok((plain, entry))
}

fn position(file: &TokenFile, print: &str) -> Result<usize, TokenAdminError> {
    let print = print.trim().to_ascii_lowercase();
    if print.len() < 6 {
        return Err(TokenAdminError::Unknown(print));
    }
    let found: Vec<usize> = file
        .tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| t.sha256.starts_with(&print))
        .map(|(i, _)| i)
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(TokenAdminError::Unknown(print)),
        _ => Err(TokenAdminError::Ambiguous(print)),
    }
}

/// Replaces a token by a new one for the same holder; returns the new plain token. The old
/// token (and every console session signed in with it) stops working.
pub fn rotate(path: &Path, print: &str) -> Result<(String, TokenEntry), TokenAdminError> {
    let _lock = ChangeLock::take(path)?;
    let mut file = read_file(path)?;
    let at = position(&file, print)?;
    let plain = new_plain_token()?;
    file.tokens[at].sha256 = hash_token(&plain);
    let entry = file.tokens[at].clone();
    write_file(path, &file)?;
    Ok((plain, entry))
}

/// Removes a token; it (and every session signed in with it) stops working.
pub fn revoke(path: &Path, print: &str) -> Result<TokenEntry, TokenAdminError> {
    let _lock = ChangeLock::take(path)?;
    let mut file = read_file(path)?;
    let at = position(&file, print)?;
    let entry = file.tokens.remove(at);
    write_file(path, &file)?;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_changes_keep_every_change() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens.json");
        let made: Vec<TokenEntry> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|i| {
                    let path = &path;
                    scope.spawn(move || {
                        create(path, &format!("系统{i}"), Role::Evaluator, None)
                            .expect("made")
                            .1
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("joined"))
                .collect()
        });
        let file = read_file(&path).expect("reads");
        assert_eq!(file.tokens.len(), 8, "no change was lost");
        for entry in &made {
            assert!(file.tokens.iter().any(|t| t.sha256 == entry.sha256));
        }
    }

    #[test]
    fn create_rotate_and_revoke_change_the_file_and_a_running_table_sees_it() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens.json");
        let (plain, entry) = create(&path, "市水务局", Role::Bureau, Some("水务")).expect("made");
        let table = TokenTable::from_file(&path).expect("loads");
        assert!(table.current().by_hash(&hash_token(&plain)).is_some());
        let (newer, _) = rotate(&path, &fingerprint(&entry)).expect("rotated");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let tokens = table.current();
        assert!(
            tokens.by_hash(&hash_token(&plain)).is_none(),
            "the old token is gone"
        );
        assert!(tokens.by_hash(&hash_token(&newer)).is_some());
        let (_, other) = create(&path, "评标系统", Role::Evaluator, None).expect("made");
        revoke(&path, &fingerprint(&other)).expect("revoked");
        assert_eq!(read_file(&path).expect("reads").tokens.len(), 1);
        assert!(matches!(
            revoke(&path, "ffffffffffff"),
            Err(TokenAdminError::Unknown(_))
        ));
        assert!(
            create(&path, "x", Role::Bureau, None).is_err(),
            "a bureau needs a sector"
        );
        assert!(create(&path, "x", Role::Intake, Some("水务")).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_broken_file_keeps_the_last_good_tokens() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens.json");
        let (plain, _) = create(&path, "市公管局", Role::CityOffice, None).expect("made");
        let table = TokenTable::from_file(&path).expect("loads");
        std::fs::write(&path, "{ not json").expect("write");
        assert!(table.current().by_hash(&hash_token(&plain)).is_some());
    }
}
