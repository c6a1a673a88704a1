//! Backups of the sled store: `credit-rules backup` writes a consistent snapshot of a
//! database folder into one file, `credit-rules restore` makes a new folder from it.
//!
//! # Consistency while serving
//!
//! sled lets one process open a database, so a snapshot of a folder that `serve` holds is
//! taken by `serve` itself ([`SledStore::backup_to`], reached through the authenticated
//! `POST /api/v1/admin/backup`); a folder no process holds is opened by the command
//! ([`backup_folder`]).
//! Either way the snapshot is taken with every write of the store held back: each
//! mutating call (records, events, versions, cursors, drafts, decision log, compaction)
//! holds the store's write gate for reading while it runs, and the snapshot holds it for
//! writing while it reads the trees and the decision journal. So the snapshot holds
//! exactly the writes acknowledged before it started, and none half-done; reads go on
//! meanwhile, and writes wait (a 1 GB database takes some seconds: take backups when the
//! load is low).
//!
//! # A folder of an older format
//!
//! A backup never changes what it backs up. Opening a folder an older release left
//! (format version 1 or 2) as a store would migrate it in place, so [`backup_folder`]
//! does not: it reads sled's trees as they are and writes the older format version in the
//! header. Restoring the backup writes those trees into the new folder and opens it once
//! as a store, which migrates the copy; the original stays as it was, for the release
//! that wrote it.
//!
//! # What is in it
//!
//! Every sled tree of the database (key and value bytes as stored, whatever the store's
//! format version), the decision journal's segments (`decisions/*.log`) and the other
//! plain files at the top of the folder — the token file, the receipt and session keys —
//! so that a restored folder serves as the old one did. sled's own files (`conf`, `db`,
//! `snap.*`, `blobs/`) are not copied: the trees are. The file is written with mode 0600,
//! as it holds the keys.
//!
//! # Format (version 1)
//!
//! ```text
//! header:  "CRBACKUP" ‖ backup format (u32 BE) ‖ store format version (u32 BE) ‖ time (i64 BE, ms)
//! items:   'T' ‖ name length (u16 BE) ‖ name ‖ { key length (u32 BE) ‖ key ‖ value length (u32 BE) ‖ value }* ‖ FF FF FF FF
//!          'F' ‖ path length (u16 BE) ‖ relative path ‖ length (u64 BE) ‖ bytes
//! end:     'E' ‖ trees (u32 BE) ‖ entries (u64 BE) ‖ files (u32 BE)
//! trailer: SHA-256 of everything before it (32 bytes)
//! ```
//!
//! Restoring checks, before it writes anything: the header (a file that is not a backup,
//! a newer backup format, a store format newer than this build are refused, naming both
//! versions), then the checksum over the whole file (a damaged or cut-short file is
//! refused), and that the target folder is new or empty. It then writes the trees and
//! files, flushes, and opens the result as a store once (which also indexes the decision
//! journal). A restore that fails part-way removes what it wrote.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::super::codec;
use super::{
    FORMAT_KEY, FORMAT_VERSION, FORMAT_VERSION_1, FORMAT_VERSION_2, JOURNAL_DIR, SledStore,
    StoreError, open_db,
};

/// The backup format this build writes and the newest it reads.
pub const BACKUP_FORMAT: u32 = 1;

/// The first bytes of every backup.
const MAGIC: &[u8; 8] = b"CRBACKUP";
/// Magic, backup format, store format, time.
const HEADER_LEN: u64 = 8 + 4 + 4 + 8;
/// The SHA-256 at the end.
const TRAILER_LEN: u64 = 32;
/// Ends a tree's entries (no key is this long).
const END_OF_TREE: u32 = u32::MAX;
/// Entries per sled batch while restoring.
const RESTORE_BATCH: usize = 10_000;
/// The folder of the backups `serve` writes, in its data folder.
pub const BACKUP_DIR: &str = "backups";

/// What a backup holds and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupSummary {
    /// The backup file.
    #[schema(value_type = String)]
    pub file: PathBuf,
    /// The database folder it was taken from (absolute).
    #[schema(value_type = String)]
    pub data: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The checksum in the file's last 32 bytes: the SHA-256 of everything before them.
    pub sha256: String,
    /// When the snapshot was taken.
    pub created_at: DateTime<Utc>,
    /// The store's format version.
    pub store_format: u32,
    /// sled trees.
    pub trees: u32,
    /// Key–value entries over all trees.
    pub entries: u64,
    /// Files (decision journal segments, token file, keys).
    pub files: u32,
}

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("`{path}`: cannot {action}: {message}")]
    Io {
        /// The file or folder.
        path: String,
        /// What was being done.
        action: &'static str,
        /// What the system said.
        message: String,
    },
    /// The file does not start with the backup header.
    #[error(
        "`{path}` is not a credit-rules backup (it does not start with the backup header); \
         give a file written by `credit-rules backup`"
    )]
    NotABackup {
        /// The file.
        path: String,
    },
    /// A newer release wrote the backup.
    #[error(
        "`{path}` has backup format {found}, newer than this build's {supported}: restore it \
         with the credit-rules release that wrote it (or a newer one)"
    )]
    NewerFormat {
        /// The file.
        path: String,
        /// Its backup format.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The backup holds a store of a newer format version.
    #[error(
        "`{path}` holds a store of format version {found}, newer than this build's \
         {supported}: restore it with the credit-rules release that wrote it (or a newer one)"
    )]
    NewerStore {
        /// The file.
        path: String,
        /// The store format in the backup.
        found: u32,
        /// This build's.
        supported: u32,
    },
    /// The file is damaged or cut short.
    #[error(
        "`{path}` is corrupt or truncated ({reason}); nothing was restored: use another \
         backup"
    )]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The restore target holds something already.
    #[error(
        "`{path}` is not empty: restore writes only into a new or empty folder, never over a \
         database; give another folder (e.g. --data {path}-restored)"
    )]
    NotEmpty {
        /// The folder.
        path: String,
    },
    /// The output file exists.
    #[error("`{path}` exists already: a backup never overwrites a file; give another --out")]
    Exists {
        /// The file.
        path: String,
    },
    /// This store has no backup of its own.
    #[error("{0}")]
    Unsupported(String),
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.display().to_string();
    move |e| BackupError::Io {
        path,
        action,
        message: e.to_string(),
    }
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Whether a top-level entry of the database folder is sled's own (its trees are copied
/// instead), or not to be copied at all.
fn skipped(name: &str) -> bool {
    name == "conf"
        || name == "db"
        || name == "blobs"
        || name.starts_with("snap.")
        || name == BACKUP_DIR
        || name == JOURNAL_DIR
        || name.ends_with(".partial")
}

/// The files a backup copies besides the trees, as (relative path, path), sorted: the
/// journal segments and the plain files at the top of the folder.
fn files_to_copy(dir: &Path) -> Result<Vec<(String, PathBuf)>, BackupError> {
    let mut found = Vec::new();
    let mut list = |folder: &Path, prefix: &str, top: bool| -> Result<(), BackupError> {
        let entries = match std::fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !top => return Ok(()),
            Err(e) => return Err(io_error(folder, "list the folder")(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_error(folder, "list the folder"))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let kind = entry.file_type().map_err(io_error(&entry.path(), "stat"))?;
            if !kind.is_file() || (top && skipped(&name)) {
                continue;
            }
            found.push((format!("{prefix}{name}"), entry.path()));
        }
        Ok(())
    };
    list(dir, "", true)?;
    list(&dir.join(JOURNAL_DIR), &format!("{JOURNAL_DIR}/"), false)?;
    found.sort();
    Ok(found)
}

/// Backs up the database folder `dir`, which no process holds, into `out` (a new file),
/// without changing it: a folder of this build's format through the store (as `serve`
/// does, [`SledStore::backup_to`]); a folder an older release left (format version 1 or 2)
/// as it is, trees and files, without opening it as a store, which would migrate it in
/// place. Restoring such a backup and opening the copy migrates the copy. A folder another
/// process holds is refused as in use ([`StoreError::is_in_use`]).
pub fn backup_folder(dir: &Path, out: &Path) -> Result<BackupSummary, BackupError> {
    if out.exists() {
        return Err(BackupError::Exists {
            path: out.display().to_string(),
        });
    }
    let path = dir.display().to_string();
    if !dir.is_dir() {
        // Opening it would create it.
        return Err(BackupError::Io {
            path,
            action: "back up the folder",
            message: "there is no such folder (give the database folder of serve)".into(),
        });
    }
    let db = open_db(&sled::Config::new().path(dir), &path)?;
    match stored_format(&db, &path)? {
        Some(format) if format == FORMAT_VERSION_1 || format == FORMAT_VERSION_2 => {
            // Nothing else can write: this process holds sled's lock on the folder.
            write_backup_file(dir, out, |file| snapshot(&db, dir, format, file, ()))
        }
        _ => SledStore::on_db(db, path, Some(dir.join(JOURNAL_DIR)))?.backup_to(out),
    }
}

/// The format version written in the `meta` tree, if there is one (read without creating
/// the tree).
fn stored_format(db: &sled::Db, path: &str) -> Result<Option<u32>, StoreError> {
    let backend = |e: sled::Error| StoreError::Backend {
        path: path.to_owned(),
        message: e.to_string(),
    };
    if !db.tree_names().iter().any(|n| n.as_ref() == b"meta") {
        return Ok(None);
    }
    let meta = db.open_tree("meta").map_err(backend)?;
    let Some(bytes) = meta.get(FORMAT_KEY).map_err(backend)? else {
        return Ok(None);
    };
    <[u8; 4]>::try_from(bytes.as_ref())
        .map(|b| Some(u32::from_be_bytes(b)))
        .map_err(|_| StoreError::Corrupt {
            tree: "meta",
            key: "`format_version`".into(),
            reason: format!("{} bytes instead of 4", bytes.len()),
        })
}

/// Writes a backup into `out` (a new file) through `write`: beside it as `out.partial`,
/// then linked into place when complete; the summary names both files absolutely.
fn write_backup_file(
    dir: &Path,
    out: &Path,
    write: impl FnOnce(File) -> Result<BackupSummary, BackupError>,
) -> Result<BackupSummary, BackupError> {
    if out.exists() {
        return Err(BackupError::Exists {
            path: out.display().to_string(),
        });
    }
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = open_private(&partial)?;
    let summary = match write(file) {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // A hard link fails if `out` appeared meanwhile, where a rename would replace it.
    let linked = std::fs::hard_link(&partial, out);
    let _ = std::fs::remove_file(&partial);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::Exists {
                path: out.display().to_string(),
            });
        }
        Err(e) => return Err(io_error(out, "link the finished backup")(e)),
    }
    sync_parent(out);
    Ok(BackupSummary {
        file: std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf()),
        data: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
        ..summary
    })
}

impl SledStore {
    /// Writes a consistent snapshot of the whole database folder to `out` (a new file; it
    /// is written beside as `out.partial` and renamed when complete), holding every write
    /// of the store back meanwhile (see the module docs).
    pub fn backup_to(&self, out: &Path) -> Result<BackupSummary, BackupError> {
        let Some(journal_dir) = &self.journal_dir else {
            return Err(BackupError::Unsupported(
                "a temporary store has no folder to back up".into(),
            ));
        };
        let dir = journal_dir.parent().unwrap_or(journal_dir).to_path_buf();
        write_backup_file(&dir, out, |file| {
            // Every write of the store waits from here until the snapshot is read.
            let gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
            snapshot(&self.db, &dir, FORMAT_VERSION, file, gate)
        })
    }

    /// A snapshot into a new file of the folder's `backups/` (the server's way: the
    /// command that asked moves it where it wants).
    pub fn backup_in_folder(&self) -> Result<BackupSummary, BackupError> {
        let Some(journal_dir) = &self.journal_dir else {
            return Err(BackupError::Unsupported(
                "a temporary store has no folder to back up".into(),
            ));
        };
        let dir = journal_dir.parent().unwrap_or(journal_dir).join(BACKUP_DIR);
        create_private_dir(&dir)?;
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        for n in 0..1000 {
            let out = dir.join(format!("backup-{stamp}-{n}.crbackup"));
            match self.backup_to(&out) {
                Err(BackupError::Exists { .. }) => continue,
                other => return other,
            }
        }
        Err(BackupError::Exists {
            path: dir.display().to_string(),
        })
    }
}

/// Writes the snapshot of `db` (the database in `dir`, of format version `store_format`)
/// into `file`, which is synced before it returns. `gate` is held while the trees and
/// files are read and released before the end is written.
fn snapshot<G>(
    db: &sled::Db,
    dir: &Path,
    store_format: u32,
    file: File,
    gate: G,
) -> Result<BackupSummary, BackupError> {
    let path = dir.display().to_string();
    let backend = |e: sled::Error| {
        BackupError::Store(StoreError::Backend {
            path: path.clone(),
            message: e.to_string(),
        })
    };
    let mut out = Hashing {
        inner: BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
        bytes: 0,
    };
    let write = |e: std::io::Error| BackupError::Io {
        path: path.clone(),
        action: "write the backup",
        message: e.to_string(),
    };
    let created_at = Utc::now();
    out.write_all(MAGIC).map_err(write)?;
    out.write_all(&BACKUP_FORMAT.to_be_bytes()).map_err(write)?;
    out.write_all(&store_format.to_be_bytes()).map_err(write)?;
    out.write_all(&created_at.timestamp_millis().to_be_bytes())
        .map_err(write)?;
    let mut names = db.tree_names();
    names.sort();
    let (mut trees, mut entries) = (0u32, 0u64);
    for name in names {
        let tree = db.open_tree(&name).map_err(backend)?;
        out.write_all(b"T").map_err(write)?;
        write_short(&mut out, &name).map_err(write)?;
        for item in tree.iter() {
            let (key, value) = item.map_err(backend)?;
            write_long(&mut out, &key).map_err(write)?;
            write_long(&mut out, &value).map_err(write)?;
            entries += 1;
        }
        out.write_all(&END_OF_TREE.to_be_bytes()).map_err(write)?;
        trees += 1;
    }
    let mut files = 0u32;
    for (relative, file_path) in files_to_copy(dir)? {
        let mut source = File::open(&file_path).map_err(io_error(&file_path, "read"))?;
        let len = source
            .metadata()
            .map_err(io_error(&file_path, "stat"))?
            .len();
        out.write_all(b"F").map_err(write)?;
        write_short(&mut out, relative.as_bytes()).map_err(write)?;
        out.write_all(&len.to_be_bytes()).map_err(write)?;
        let copied = std::io::copy(&mut (&mut source).take(len), &mut out)
            .map_err(io_error(&file_path, "read"))?;
        if copied != len {
            return Err(BackupError::Io {
                path: file_path.display().to_string(),
                action: "read",
                message: format!("it shrank from {len} to {copied} bytes while being copied"),
            });
        }
        files += 1;
    }
    drop(gate);
    out.write_all(b"E").map_err(write)?;
    out.write_all(&trees.to_be_bytes()).map_err(write)?;
    out.write_all(&entries.to_be_bytes()).map_err(write)?;
    out.write_all(&files.to_be_bytes()).map_err(write)?;
    let digest: [u8; 32] = out.hash.clone().finalize().into();
    out.write_all(&digest).map_err(write)?;
    let bytes = out.bytes;
    let file = out.inner.into_inner().map_err(|e| write(e.into_error()))?;
    file.sync_all().map_err(write)?;
    Ok(BackupSummary {
        file: PathBuf::new(),
        data: PathBuf::new(),
        bytes,
        sha256: codec::hex(&digest),
        created_at,
        store_format,
        trees,
        entries,
        files,
    })
}

fn write_short(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a name longer than 65535 bytes",
        )
    })?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

fn write_long(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|&len| len != END_OF_TREE)
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "a value of 4 GiB or more")
        })?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

fn open_private(path: &Path) -> Result<File, BackupError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            BackupError::Exists {
                path: path.display().to_string(),
            }
        } else {
            io_error(path, "create")(e)
        }
    })
}

fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(io_error(dir, "create the folder"))
}

fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// The header of a backup file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    store_format: u32,
    created_at: DateTime<Utc>,
}

/// Checks a backup file's header and checksum without restoring it; returns what it
/// holds (`file` and `sha256` describe the file; `data` is empty).
pub fn verify(input: &Path) -> Result<BackupSummary, BackupError> {
    let (header, len, sha256) = check(input)?;
    let mut reader = body_reader(input, len)?;
    let counts = read_items(input, &mut reader, &mut |_| Ok(()))?;
    Ok(BackupSummary {
        file: std::path::absolute(input).unwrap_or_else(|_| input.to_path_buf()),
        data: PathBuf::new(),
        bytes: len,
        sha256,
        created_at: header.created_at,
        store_format: header.store_format,
        trees: counts.0,
        entries: counts.1,
        files: counts.2,
    })
}

/// Header, length and checksum checks; returns the header, the file length and the hex
/// body digest.
fn check(input: &Path) -> Result<(Header, u64, String), BackupError> {
    let name = input.display().to_string();
    let mut file = File::open(input).map_err(io_error(input, "open"))?;
    let len = file.metadata().map_err(io_error(input, "stat"))?.len();
    let mut head = [0u8; HEADER_LEN as usize];
    let got = read_up_to(&mut file, &mut head).map_err(io_error(input, "read"))?;
    if got < MAGIC.len() || &head[..MAGIC.len()] != MAGIC {
        return Err(BackupError::NotABackup { path: name });
    }
    if (got as u64) < HEADER_LEN {
        return Err(BackupError::Corrupt {
            path: name,
            reason: format!("it ends after {len} bytes, inside the header"),
        });
    }
    let format = u32::from_be_bytes(head[8..12].try_into().unwrap_or_default());
    if format > BACKUP_FORMAT {
        return Err(BackupError::NewerFormat {
            path: name,
            found: format,
            supported: BACKUP_FORMAT,
        });
    }
    if format == 0 {
        return Err(BackupError::Corrupt {
            path: name,
            reason: "backup format 0 does not exist".into(),
        });
    }
    let store_format = u32::from_be_bytes(head[12..16].try_into().unwrap_or_default());
    let millis = i64::from_be_bytes(head[16..24].try_into().unwrap_or_default());
    if len < HEADER_LEN + 1 + TRAILER_LEN {
        return Err(BackupError::Corrupt {
            path: name,
            reason: format!("it is only {len} bytes long: the end and the checksum are missing"),
        });
    }
    // The checksum over everything but the trailer.
    let mut hash = Sha256::new();
    hash.update(head);
    let mut rest =
        BufReader::with_capacity(1 << 20, (&mut file).take(len - TRAILER_LEN - HEADER_LEN));
    std::io::copy(&mut rest, &mut HashSink(&mut hash)).map_err(io_error(input, "read"))?;
    let mut trailer = [0u8; TRAILER_LEN as usize];
    file.read_exact(&mut trailer)
        .map_err(io_error(input, "read"))?;
    let digest: [u8; 32] = hash.finalize().into();
    if digest != trailer {
        return Err(BackupError::Corrupt {
            path: name,
            reason: "its SHA-256 checksum does not match its content (damaged, or cut short)"
                .into(),
        });
    }
    if store_format > FORMAT_VERSION {
        return Err(BackupError::NewerStore {
            path: name,
            found: store_format,
            supported: FORMAT_VERSION,
        });
    }
    let created_at = DateTime::from_timestamp_millis(millis).unwrap_or(DateTime::UNIX_EPOCH);
    Ok((
        Header {
            store_format,
            created_at,
        },
        len,
        codec::hex(&digest),
    ))
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// The items after the header, up to the trailer.
fn body_reader(input: &Path, len: u64) -> Result<impl Read, BackupError> {
    let mut file = File::open(input).map_err(io_error(input, "open"))?;
    let mut head = [0u8; HEADER_LEN as usize];
    file.read_exact(&mut head)
        .map_err(io_error(input, "read"))?;
    Ok(BufReader::with_capacity(
        1 << 20,
        file.take(len - HEADER_LEN - TRAILER_LEN),
    ))
}

/// One item of a backup, as the reader hands it on.
enum Item<'a> {
    /// A tree starts.
    Tree(&'a [u8]),
    /// An entry of the current tree.
    Entry(Vec<u8>, Vec<u8>),
    /// A file: relative path and a reader of its bytes (to be read to the end).
    File(&'a str, &'a mut dyn Read),
}

/// Reads every item, passing each to `each`; checks the end record. Returns the counts.
fn read_items(
    input: &Path,
    reader: &mut impl Read,
    each: &mut dyn FnMut(Item<'_>) -> Result<(), BackupError>,
) -> Result<(u32, u64, u32), BackupError> {
    let corrupt = |reason: String| BackupError::Corrupt {
        path: input.display().to_string(),
        reason,
    };
    let cut = |e: std::io::Error| BackupError::Corrupt {
        path: input.display().to_string(),
        reason: format!("it ends in the middle of an item ({e})"),
    };
    let (mut trees, mut entries, mut files) = (0u32, 0u64, 0u32);
    loop {
        let mut tag = [0u8; 1];
        reader.read_exact(&mut tag).map_err(cut)?;
        match tag[0] {
            b'T' => {
                let name = read_short(reader).map_err(cut)?;
                each(Item::Tree(&name))?;
                loop {
                    let mut len = [0u8; 4];
                    reader.read_exact(&mut len).map_err(cut)?;
                    let len = u32::from_be_bytes(len);
                    if len == END_OF_TREE {
                        break;
                    }
                    let key = read_exact_vec(reader, u64::from(len)).map_err(cut)?;
                    let mut vlen = [0u8; 4];
                    reader.read_exact(&mut vlen).map_err(cut)?;
                    let value =
                        read_exact_vec(reader, u64::from(u32::from_be_bytes(vlen))).map_err(cut)?;
                    each(Item::Entry(key, value))?;
                    entries += 1;
                }
                trees += 1;
            }
            b'F' => {
                let path = read_short(reader).map_err(cut)?;
                let path = String::from_utf8(path)
                    .ok()
                    .filter(|p| is_safe_relative(p))
                    .ok_or_else(|| corrupt("a file has a path outside the folder".into()))?;
                let mut len = [0u8; 8];
                reader.read_exact(&mut len).map_err(cut)?;
                let len = u64::from_be_bytes(len);
                let mut limited = (&mut *reader).take(len);
                each(Item::File(&path, &mut limited))?;
                // Whatever the consumer left unread is skipped.
                std::io::copy(&mut limited, &mut std::io::sink()).map_err(cut)?;
                if limited.limit() != 0 {
                    return Err(corrupt(format!("file `{path}` is cut short")));
                }
                files += 1;
            }
            b'E' => {
                let mut end = [0u8; 16];
                reader.read_exact(&mut end).map_err(cut)?;
                let want_trees = u32::from_be_bytes(end[0..4].try_into().unwrap_or_default());
                let want_entries = u64::from_be_bytes(end[4..12].try_into().unwrap_or_default());
                let want_files = u32::from_be_bytes(end[12..16].try_into().unwrap_or_default());
                if (want_trees, want_entries, want_files) != (trees, entries, files) {
                    return Err(corrupt(format!(
                        "its end record counts {want_trees} trees, {want_entries} entries and \
                         {want_files} files, but it holds {trees}, {entries} and {files}"
                    )));
                }
                let mut extra = [0u8; 1];
                if reader.read(&mut extra).map_err(cut)? != 0 {
                    return Err(corrupt("there are bytes after its end record".into()));
                }
                return Ok((trees, entries, files));
            }
            other => {
                return Err(corrupt(format!("unknown item tag 0x{other:02x}")));
            }
        }
    }
}

/// A relative path of one or two plain components (`name` or `decisions/name`).
/// Names sled keeps for itself (`snap.*`, `conf`, `db`, `blobs`) are never restored as plain
/// files: a crafted backup could otherwise feed them to sled when the new store is opened.
fn is_safe_relative(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let plain = |p: &str| !p.is_empty() && p != "." && p != ".." && !p.contains('\\');
    match parts.as_slice() {
        [name] => plain(name) && !skipped(name),
        [dir, name] => *dir == JOURNAL_DIR && plain(name),
        _ => false,
    }
}

fn read_short(reader: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    reader.read_exact(&mut len)?;
    read_exact_vec(reader, u64::from(u16::from_be_bytes(len)))
}

fn read_exact_vec(reader: &mut impl Read, len: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let got = reader.take(len).read_to_end(&mut bytes)?;
    if got as u64 != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{got} of {len} bytes"),
        ));
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------------
// Restoring
// ---------------------------------------------------------------------------------------------

/// Restores a backup into `dir`, which must not exist or be empty (see the module docs).
pub fn restore(input: &Path, dir: &Path) -> Result<BackupSummary, BackupError> {
    let (header, len, sha256) = check(input)?;
    let existed = match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty {
                    path: dir.display().to_string(),
                });
            }
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io_error(dir, "list the folder")(e)),
    };
    create_private_dir(dir)?;
    let result = restore_into(input, len, dir);
    match result {
        Ok(counts) => Ok(BackupSummary {
            file: std::path::absolute(input).unwrap_or_else(|_| input.to_path_buf()),
            data: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
            bytes: len,
            sha256,
            created_at: header.created_at,
            store_format: header.store_format,
            trees: counts.0,
            entries: counts.1,
            files: counts.2,
        }),
        Err(e) => {
            // Leave the folder as it was: gone, or empty.
            if existed {
                if let Ok(entries) = std::fs::read_dir(dir) {
                    for entry in entries.flatten() {
                        let path = entry.path();
                        let _ = if path.is_dir() {
                            std::fs::remove_dir_all(&path)
                        } else {
                            std::fs::remove_file(&path)
                        };
                    }
                }
            } else {
                let _ = std::fs::remove_dir_all(dir);
            }
            Err(e)
        }
    }
}

fn restore_into(input: &Path, len: u64, dir: &Path) -> Result<(u32, u64, u32), BackupError> {
    let backend = |e: sled::Error| {
        BackupError::Store(StoreError::Backend {
            path: dir.display().to_string(),
            message: e.to_string(),
        })
    };
    let db = sled::Config::new().path(dir).open().map_err(backend)?;
    let mut reader = body_reader(input, len)?;
    let mut tree: Option<sled::Tree> = None;
    let mut batch = sled::Batch::default();
    let mut in_batch = 0usize;
    let counts = read_items(input, &mut reader, &mut |item| {
        match item {
            Item::Tree(name) => {
                if let Some(done) = &tree {
                    done.apply_batch(std::mem::take(&mut batch))
                        .map_err(backend)?;
                    in_batch = 0;
                }
                tree = Some(db.open_tree(name).map_err(backend)?);
            }
            Item::Entry(key, value) => {
                if tree.is_none() {
                    return Err(BackupError::Corrupt {
                        path: input.display().to_string(),
                        reason: "an entry comes before any tree".into(),
                    });
                }
                batch.insert(key, value);
                in_batch += 1;
                if in_batch >= RESTORE_BATCH
                    && let Some(current) = &tree
                {
                    current
                        .apply_batch(std::mem::take(&mut batch))
                        .map_err(backend)?;
                    in_batch = 0;
                }
            }
            Item::File(relative, bytes) => {
                let path = dir.join(relative);
                if let Some(parent) = path.parent() {
                    create_private_dir(parent)?;
                }
                let mut file = open_private(&path)?;
                std::io::copy(bytes, &mut file).map_err(io_error(&path, "write"))?;
                file.sync_all().map_err(io_error(&path, "write"))?;
            }
        }
        Ok(())
    })?;
    if let Some(current) = &tree {
        current.apply_batch(batch).map_err(backend)?;
    }
    db.flush().map_err(backend)?;
    drop(tree);
    drop(db);
    // Open it once as a store: checks the format and indexes the decision journal.
    let store = SledStore::open(dir)?;
    store.flush_db()?;
    drop(store);
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_in_the_folder_or_its_journal_are_restored() {
        for good in ["tokens.json", "receipt-key", "decisions/00000001.log"] {
            assert!(is_safe_relative(good), "{good}");
        }
        for bad in [
            "",
            "..",
            "../x",
            "/etc/passwd",
            "decisions/../x",
            "other/x",
            "decisions/a/b",
            "a\\b",
        ] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }

    #[test]
    fn sleds_own_files_and_earlier_backups_are_not_copied() {
        for name in [
            "conf",
            "db",
            "snap.0000000000A1B2",
            "blobs",
            "backups",
            "x.partial",
        ] {
            assert!(skipped(name), "{name}");
        }
        for name in ["tokens.json", "receipt-key", "session.key"] {
            assert!(!skipped(name), "{name}");
        }
    }
}
